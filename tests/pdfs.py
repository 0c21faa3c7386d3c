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


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page of a PDF (pypdf), whitespace collapsed."""
    from pypdf import PdfReader

    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(data)).pages]


def pdf_text(data: bytes) -> str:
    return " ".join(pdf_pages(data))
