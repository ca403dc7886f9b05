"""The round's minutes (biên bản) and decision (quyết định) as PDF: Vietnamese documents, as filed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.core.i18n import format_day, format_number
from app.core.pdf import FONT, pdf_document

OUTCOME_TEXT = {
    "recognised": "Đạt",
    "not_recognised": "Không đạt hạng sao",
    "failed_mandatory": "Không đạt (thiếu tiêu chí bắt buộc)",
    "proposed_ministry": "Đề nghị Bộ công nhận 5 sao",
}
STATE_TEXT = {
    "scoring": "Đang chấm",
    "spread": "Chênh lệch quá mức",
    "no_quorum": "Chưa đủ túc số",
    "ready": "Đủ điều kiện",
}
ROLE_TEXT = {"chair": "Chủ tịch", "vice_chair": "Phó Chủ tịch", "member": "Ủy viên", "secretary": "Thư ký"}


@dataclass(frozen=True)
class Line:
    """One product of the round as printed: its name, producer, sheets and result."""

    product: str
    producer: str
    counted: int
    excluded: int
    spread: object
    mean: object
    parts: dict
    stars: int | None
    outcome: str


def _writer(pdf):
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, size: int = 11, style: str = "", height: float = 6, align: str = "L") -> None:
        pdf.set_font(FONT, style, size)
        pdf.multi_cell(width, height, text, align=align, new_x="LMARGIN", new_y="NEXT")

    return line


def _heading(line, title: str) -> None:
    line("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, "B", align="C")
    line("Độc lập - Tự do - Hạnh phúc", 12, "B", align="C")
    line("", 8)
    line(title, 15, "B", 8, "C")


def _num(value) -> str:
    return "" if value is None else format_number(value)


def minutes_pdf(council_round, council, members: Sequence, lines: Sequence[Line], parts: Sequence[str]) -> bytes:
    pdf = pdf_document(f"Biên bản {council_round.name}")
    pdf.add_page()
    line = _writer(pdf)
    _heading(line, "BIÊN BẢN HỌP HỘI ĐỒNG ĐÁNH GIÁ, PHÂN HẠNG SẢN PHẨM OCOP")
    line(f"{council.name} — {council_round.name}", 12, "B", 7, "C")
    line(f"Ngày họp: {format_day(council_round.meeting_on)} · Bộ tiêu chí: {council_round.act}")
    line("Thành phần Hội đồng:", 11, "B")
    for member, user in members:
        line(f"  - {user.full_name} ({ROLE_TEXT.get(member.role, member.role)})")
    line("Kết quả chấm điểm:", 11, "B")
    for number, item in enumerate(lines, start=1):
        part_text = ", ".join(f"{p}: {_num(item.parts.get(p))}" for p in parts if item.parts.get(p) is not None)
        stars = f" · {item.stars} sao" if item.stars else ""
        line(f"{number}. {item.product} — {item.producer}", 11, "B")
        line(
            f"   Phiếu được tính {item.counted}, loại do xung đột {item.excluded}, chênh lệch {_num(item.spread)};"
            f" điểm trung bình {_num(item.mean)}{' (' + part_text + ')' if part_text else ''}"
            f" · {OUTCOME_TEXT.get(item.outcome) or STATE_TEXT.get(item.outcome, item.outcome)}{stars}"
        )
    if council_round.decision_number:
        line(
            f"Quyết định số {council_round.decision_number} ngày {format_day(council_round.decision_date)}", 11, "B", 8
        )
    return bytes(pdf.output())


def decision_pdf(council_round, council, lines: Sequence[Line]) -> bytes:
    """The decision recognising the round's products (those with stars), as the province issues it."""
    pdf = pdf_document(f"Quyết định {council_round.decision_number}")
    pdf.add_page()
    line = _writer(pdf)
    authority = council_round.decision_authority or ""
    if authority:
        line(authority.upper(), 12, "B", align="C")
    _heading(line, f"QUYẾT ĐỊNH số {council_round.decision_number}")
    line(f"ngày {format_day(council_round.decision_date)}", 11, "", 6, "C")
    line("Về việc công nhận sản phẩm đạt tiêu chuẩn OCOP", 12, "B", 7, "C")
    line(
        f"Căn cứ kết quả đánh giá, phân hạng của {council.name} ({council_round.name}, bộ tiêu chí {council_round.act});"
    )
    line("QUYẾT ĐỊNH:", 12, "B", 8, "C")
    line("Điều 1. Công nhận các sản phẩm sau đạt tiêu chuẩn OCOP:", 11, "B")
    recognised = [item for item in lines if item.outcome == "recognised" and item.stars]
    for number, item in enumerate(recognised, start=1):
        line(f"  {number}. {item.product} — {item.producer}: {item.stars} sao ({_num(item.mean)} điểm)")
    if not recognised:
        line("  (Không có sản phẩm nào.)")
    proposed = [item for item in lines if item.outcome == "proposed_ministry"]
    if proposed:
        line("Điều 2. Đề nghị Bộ Nông nghiệp và Môi trường xem xét, công nhận sản phẩm 5 sao:", 11, "B")
        for number, item in enumerate(proposed, start=1):
            line(f"  {number}. {item.product} — {item.producer} ({_num(item.mean)} điểm)")
    line("Giấy chứng nhận có hiệu lực 36 tháng kể từ ngày ký quyết định.", 11, "", 8)
    return bytes(pdf.output())
