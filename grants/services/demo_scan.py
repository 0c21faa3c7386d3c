"""Stand-ins for the scanned documents of the demo: one-page PDFs that say what they are."""
from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas


def demo_document(title: str) -> bytes:
    """A one-page PDF titled ``title``, marked as a demo document."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    pdf.setFont("Helvetica", 12)
    pdf.drawString(72, 760, title)
    pdf.drawString(72, 740, "Copia firmada (documento de demostración)")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def demo_signed_scan(number: str) -> bytes:
    """The signed scan of the demo agreement ``number``."""
    return demo_document(f"Convenio {number}")
