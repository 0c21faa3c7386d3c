"""A stand-in for the signed scan of a demo agreement: a one-page PDF that says what it is."""
from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas


def demo_signed_scan(number: str) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    pdf.setFont("Helvetica", 12)
    pdf.drawString(72, 760, f"Convenio {number}")
    pdf.drawString(72, 740, "Copia firmada (documento de demostración)")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
