"""Small real PDFs for upload tests."""
import io

from reportlab.pdfgen import canvas


def tiny_pdf(text: str = "Convenio firmado") -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(72, 720, text)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
