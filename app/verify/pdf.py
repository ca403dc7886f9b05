"""The certificate as a PDF (fpdf2) with a QR code (segno) pointing at its public verification page.

The document is in Vietnamese, as the decision it reflects. Text needs a Unicode TrueType font with
Vietnamese glyphs: DejaVu (Debian's fonts-dejavu-core), looked up in CERTIFICATE_FONT_DIR; no font
file is shipped in the repository.
"""

from __future__ import annotations

import io

import segno

from app.core.i18n import format_day
from app.core.pdf import FONT, FontMissing, pdf_document

__all__ = ["FontMissing", "certificate_pdf", "certificate_qr"]
AUTHORITY_NAMES = {"district": "UBND huyện", "province": "UBND tỉnh", "ministry": "Bộ Nông nghiệp và Môi trường"}


def certificate_qr(url: str) -> segno.QRCode:
    # Level M survives a scratched package label; a URL of ~60 characters stays a small version.
    return segno.make(url, error="m", micro=False)


def certificate_pdf(document, verify_url: str, font_dir: str) -> bytes:
    """One A4 page: heading, product, producer, province, stars, decision, validity and the QR."""
    cert, product, producer = document.certificate, document.product, document.producer
    pdf = pdf_document(f"Giấy chứng nhận OCOP {cert.decision_number}", font_dir)
    pdf.set_auto_page_break(False)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, size: int, style: str = "", height: float = 8) -> None:
        pdf.set_font(FONT, style, size)
        pdf.multi_cell(width, height, text, align="C", new_x="LMARGIN", new_y="NEXT")

    line("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, "B", 6)
    line("Độc lập - Tự do - Hạnh phúc", 12, "B", 6)
    pdf.ln(10)
    line("GIẤY CHỨNG NHẬN", 24, "B", 12)
    line("SẢN PHẨM OCOP", 20, "B", 10)
    line(f"{AUTHORITY_NAMES.get(cert.authority, cert.authority)} {document.province_name} chứng nhận", 12)
    pdf.ln(6)
    line(product.name, 18, "B", 9)
    line(f"Chủ thể: {producer.name}", 13, "", 7)
    pdf.ln(4)
    line("★" * cert.stars, 28, "", 13)
    line(f"Đạt {cert.stars} sao", 14, "B", 8)
    pdf.ln(6)
    line(f"Quyết định số {cert.decision_number} ngày {format_day(cert.decision_date)}", 12, "", 7)
    line(f"Có hiệu lực từ {format_day(cert.valid_from)} đến hết ngày {format_day(cert.valid_to)}", 12, "", 7)

    size = 55
    x, y = (pdf.w - size) / 2, pdf.get_y() + 10
    png = io.BytesIO()
    certificate_qr(verify_url).save(png, kind="png", scale=10, border=4)
    png.seek(0)
    pdf.image(png, x=x, y=y, w=size, h=size)
    pdf.set_y(y + size + 2)
    line("Quét mã để kiểm tra hiệu lực của giấy chứng nhận", 10, "", 5)
    line(verify_url, 8, "", 5)
    return bytes(pdf.output())
