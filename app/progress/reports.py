"""Indicators of the province for its pages, exports and the periodic reports it sends upward.

A periodic report (quarter, six months, year) has the shape the provinces' reports use: the situation at
the end of the period (valid, ever certified, by star), what happened in the period (new products,
upgrades, re-recognitions, revocations, expiries), producers by type, and progress against the targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select

from app.certification.counts import certificate_counts
from app.certification.models import Certificate
from app.core.pdf import FONT, pdf_document
from app.evaluation.models import CouncilRound, RoundProduct
from app.extensions import db
from app.planning.metrics import metric_label
from app.progress.targets import indicator_values, targets_progress

PERIODS = {"q": 3, "h": 6, "y": 12}


class ReportError(ValueError):
    pass


@dataclass
class Period:
    kind: str
    year: int
    number: int

    @property
    def start(self) -> date:
        return date(self.year, (self.number - 1) * PERIODS[self.kind] + 1, 1)

    @property
    def end(self) -> date:
        month = self.number * PERIODS[self.kind]
        return (date(self.year + 1, 1, 1) if month == 12 else date(self.year, month + 1, 1)) - timedelta(days=1)

    @property
    def label(self) -> str:
        if self.kind == "q":
            return _("Quý %(n)d năm %(y)d", n=self.number, y=self.year)
        if self.kind == "h":
            return (
                _("6 tháng đầu năm %(y)d", y=self.year)
                if self.number == 1
                else _("6 tháng cuối năm %(y)d", y=self.year)
            )
        return _("Năm %(y)d", y=self.year)


def period_parse(kind: str | None, year: str | None, number: str | None, today: date) -> Period:
    kind = kind or "q"
    if kind not in PERIODS:
        raise ReportError(_("Kỳ báo cáo không hợp lệ: chọn quý, 6 tháng hoặc năm."))
    try:
        y = int(year) if year else today.year
        n = int(number) if number else 1
    except ValueError:
        raise ReportError(_("Năm hoặc kỳ báo cáo phải là số.")) from None
    if not 2000 <= y <= 2200 or not 1 <= n <= 12 // PERIODS[kind]:
        raise ReportError(_("Năm (2000–2200) hoặc số kỳ không hợp lệ."))
    return Period(kind, y, n)


def period_events(start: date, end: date) -> dict[str, int]:
    """What happened in the period, from the certificates (one query)."""
    c = Certificate
    in_period = c.decision_date.between(start, end)
    row = db.session.execute(
        select(
            func.count().filter(in_period, c.kind == "new").label("new"),
            func.count().filter(in_period, c.kind == "upgrade").label("upgrade"),
            func.count().filter(in_period, c.kind == "re_recognition").label("re_recognition"),
            func.count().filter(c.revoked_on.between(start, end)).label("revoked"),
            func.count()
            .filter(and_(c.valid_to.between(start, end), c.superseded_on.is_(None), c.revoked_on.is_(None)))
            .label("expired"),
        )
    ).one()
    return dict(row._mapping)


EVENT_LABELS = {
    "new": _l("Sản phẩm mới được công nhận"),
    "upgrade": _l("Sản phẩm nâng hạng"),
    "re_recognition": _l("Sản phẩm được công nhận lại"),
    "revoked": _l("Giấy chứng nhận bị thu hồi"),
    "expired": _l("Giấy chứng nhận hết hạn (không được công nhận lại)"),
}


def report_sections(period: Period) -> list[tuple[str, list[tuple[str, object]]]]:
    """(section title, [(label, value)]) rows of the periodic report."""
    end = period.end
    counts = certificate_counts(end)
    values = indicator_values(end, period.start)
    events = period_events(period.start, end)
    situation = [(_("Sản phẩm còn hiệu lực"), counts.valid), (_("Sản phẩm đã từng được công nhận"), counts.ever)]
    situation += [(row.label, row.valid) for row in counts.by["stars"]]
    producers = [
        (metric_label(m), values[m])
        for m in ("producers", "producers_htx", "producers_enterprise", "producers_coop_group", "producers_household")
    ]
    producers.append((metric_label("producers_htx_sme_percent"), values["producers_htx_sme_percent"]))
    targets = [(p.target.title, f"{_fmt(p.current)} / {_fmt(p.target.value)}") for p in targets_progress(end)]
    return [
        (_("Tình hình đến ngày %(day)s", day=end.strftime("%d/%m/%Y")), situation),
        (
            _("Trong kỳ %(start)s – %(end)s", start=period.start.strftime("%d/%m/%Y"), end=end.strftime("%d/%m/%Y")),
            [(str(EVENT_LABELS[k]), v) for k, v in events.items()],
        ),
        (_("Chủ thể OCOP"), producers),
        (_("Tiến độ thực hiện mục tiêu"), targets),
    ]


def _fmt(value) -> str:
    if value is None:
        return _("chưa có dữ liệu")
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text.replace(",", "X").replace(".", ",").replace("X", ".")


def report_pdf(title: str, province: str, sections) -> bytes:
    pdf = pdf_document(title)
    pdf.add_page()
    pdf.set_font(FONT, "B", 13)
    pdf.multi_cell(0, 7, province, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 7, title, align="C", new_x="LMARGIN", new_y="NEXT")
    for heading, rows in sections:
        pdf.ln(3)
        pdf.set_font(FONT, "B", 11)
        pdf.multi_cell(0, 6, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 10)
        for label, value in rows:
            shown = value if isinstance(value, str) else _fmt(value)
            pdf.multi_cell(0, 5.5, f"{label}: {shown}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


@dataclass
class RoundRow:
    name: str
    meeting_on: date
    products: int
    recognised: int
    by_stars: dict[int, int]


def rounds_trend(limit: int = 12) -> list[RoundRow]:
    """The latest council rounds: products evaluated, recognised (incl. by the ministry) and by star (one query)."""
    recognised = (RoundProduct.outcome == "recognised") | (RoundProduct.ministry_outcome == "recognised")
    stmt = (
        select(
            CouncilRound.name,
            CouncilRound.meeting_on,
            func.count(RoundProduct.id),
            func.count(RoundProduct.id).filter(recognised),
            *(func.count(RoundProduct.id).filter(recognised, RoundProduct.stars == s) for s in (3, 4, 5)),
        )
        .outerjoin(RoundProduct, RoundProduct.round_id == CouncilRound.id)
        .group_by(CouncilRound.tenant_id, CouncilRound.id)
        .order_by(CouncilRound.meeting_on.desc(), CouncilRound.id.desc())
        .limit(limit)
    )
    return [RoundRow(n, on, p, r, {3: s3, 4: s4, 5: s5}) for n, on, p, r, s3, s4, s5 in db.session.execute(stmt)]
