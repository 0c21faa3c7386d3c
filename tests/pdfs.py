"""Small real PDFs (and other files) for upload tests."""
import io
import zipfile

from reportlab.pdfgen import canvas


def tiny_pdf(text: str = "Convenio firmado") -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(72, 720, text)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def tiny_png() -> bytes:
    """A real 2×2 PNG (Pillow comes with reportlab)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def tiny_jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), (30, 30, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page of a PDF (pypdf), whitespace collapsed."""
    from pypdf import PdfReader

    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(data)).pages]


def pdf_text(data: bytes) -> str:
    return " ".join(pdf_pages(data))


def broken_xlsx() -> bytes:
    """A zip laid out like a workbook (it passes the upload check) whose workbook openpyxl cannot read."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "esto no es XML")
    return buffer.getvalue()
