"""Certificates: record a recognition decision, correct or revoke it, and tell its status on any date.

Terms. A certificate is valid 36 months from its decision date unless the decision says otherwise.
Counted as the Civil Code counts a term in months (Bộ luật Dân sự 2015, Điều 147–148): the day of
the decision is not counted and the term ends at the end of the corresponding day of the last month
(the month's last day if it has none). So a decision of 05/03/2020 is valid through 05/03/2023
(its last day, `valid_to`) and expired from 06/03/2023; 29/02/2020 runs through 28/02/2023.

Status on a date (none of it is stored): not yet valid before `valid_from`; then whichever comes
first of revocation (`revoked_on`, inclusive), supersession by the product's next certificate
(`superseded_on` = that certificate's `valid_from`) and expiry (the day after `valid_to`); until
then valid, or "expiring" once `valid_to` is 90 days away or less (window 30, 60 or 90).

A product's current stars are those of its certificate valid on the day; nothing else stores stars.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exc, func, literal_column, or_, select

from app.audit.services import audited_insert, audited_update
from app.certification.hooks import certificate_changed
from app.certification.models import KINDS, SOURCES, Certificate
from app.core import clock
from app.core.acts import ACTS, DEFAULT_CRITERIA_ACT, act_in_force
from app.core.bulk import column_defaults
from app.core.numbers import NumberError, parse_number
from app.core.search import ids_found
from app.core.text import nfc, one_line
from app.extensions import db
from app.registry.models import Producer, Product
from tenants.context import current_tenant_id

TERM_MONTHS = 36
EXPIRY_WINDOWS = (30, 60, 90)  # days before the end of validity; the issuer must notify ≥ 30 days before
PARTS = ("A", "B", "C")
LATEST_DAY = date(2100, 12, 31)  # the last day a certificate's dates may name

# Stars from the score: 5★ 90–100, 4★ 70 to <90, 3★ 50 to <70.
STAR_BANDS = {5: (Decimal(90), Decimal(100)), 4: (Decimal(70), Decimal(90)), 3: (Decimal(50), Decimal(70))}

STATUS_LABELS = {
    "not_yet_valid": _l("Chưa có hiệu lực"),
    "valid": _l("Còn hiệu lực"),
    "expiring": _l("Sắp hết hạn"),
    "expired": _l("Hết hạn"),
    "revoked": _l("Đã thu hồi"),
    "superseded": _l("Đã được thay thế"),
}
KIND_LABELS = {
    "new": _l("Công nhận mới"),
    "re_recognition": _l("Công nhận lại"),
    "upgrade": _l("Nâng hạng"),
}
AUTHORITY_LABELS = {
    "district": _l("UBND huyện"),
    "province": _l("UBND tỉnh"),
    "ministry": _l("Bộ Nông nghiệp và Môi trường"),
}
SOURCE_LABELS = {"manual": _l("Nhập tay"), "import": _l("Nhập từ Excel"), "council": _l("Hội đồng đánh giá")}
# Decision numbers as written: "123/QĐ-UBND", "45/2020/QĐ-UBND" (never a formula, never a control character).
DECISION_NUMBER = re.compile(r"^[0-9A-Za-zÀ-ỹĐđ][0-9A-Za-zÀ-ỹĐđ/\-._ ]{0,63}$")
CORRECTABLE = (
    "stars",
    "score",
    "part_scores",
    "decision_number",
    "decision_date",
    "authority",
    "act",
    "valid_from",
    "valid_to",
    "kind",
)


class CertificateError(ValueError):
    """A refused certificate change; `field` names the form field it belongs to, when there is one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class CertificateChangedMeanwhile(CertificateError):
    """Someone else corrected or revoked the certificate after the page was shown: nothing changed."""

    def __init__(self):
        super().__init__(_("Giấy chứng nhận đã được người khác thay đổi, vui lòng tải lại trang."))


@dataclass(frozen=True)
class CertificateStatus:
    code: str  # not_yet_valid | valid | expiring | expired | revoked | superseded
    on: date
    days_left: int | None = None  # for valid/expiring: days from `on` to the last valid day (0 on it)
    window: int | None = None  # for expiring: 30, 60 or 90

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self.code])

    @property
    def is_valid(self) -> bool:
        return self.code in ("valid", "expiring")


# ----------------------------------------------------------------------------- rules


def certificate_term_end(decision_date: date, months: int = TERM_MONTHS) -> date:
    """Last valid day of a term of `months` from the decision (see the module docstring)."""
    return decision_date + relativedelta(months=months)


def criteria_act_on(day: date) -> str:
    """The criteria act (rule version) in force on the day."""
    return act_in_force(day).code


def default_authority(act: str, stars: int) -> str:
    known = ACTS.get(act) or ACTS[DEFAULT_CRITERIA_ACT]
    return known.recognised_by[stars]


def stars_for_score(score) -> int | None:
    """The star level a score earns, or None below 50 (not recognised)."""
    value = Decimal(score)
    for stars, (low, high) in STAR_BANDS.items():
        if low <= value < high or (stars == 5 and value == high):
            return stars
    return None


# ----------------------------------------------------------------------------- validation


def _clean_text(value, field: str, *, required: bool, max_length: int) -> str | None:
    if value is None:
        value = ""
    if not isinstance(value, str):
        value = str(value)
    if "\x00" in value:
        raise CertificateError(_("Không được chứa ký tự NUL."), field)
    value = nfc(value)
    if not value:
        if required:
            raise CertificateError(_("Bắt buộc nhập."), field)
        return None
    if value.startswith("="):
        raise CertificateError(_("Không được bắt đầu bằng dấu '=' (công thức)."), field)
    if len(value) > max_length:
        raise CertificateError(_("Dài quá %(n)d ký tự.", n=max_length), field)
    return value


def _clean_decision_number(value, field: str = "decision_number") -> str:
    value = _clean_text(value, field, required=True, max_length=64)
    value = one_line(value)
    if not DECISION_NUMBER.match(value):
        raise CertificateError(_("Số quyết định chỉ gồm chữ, số và các dấu / - . (ví dụ 123/QĐ-UBND)."), field)
    return value


def _clean_date(value, field: str, *, not_after: date | None = None) -> date:
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        raise CertificateError(_("Ngày không hợp lệ (dd/mm/yyyy)."), field)
    if value.year < 2000:
        raise CertificateError(_("Ngày không hợp lệ (dd/mm/yyyy)."), field)
    if value > LATEST_DAY:  # "until 31/12/9999" would overflow the status arithmetic on every page
        raise CertificateError(_("Ngày phải từ 01/01/2000 đến 31/12/2100."), field)
    if not_after is not None and value > not_after:
        raise CertificateError(_("Ngày quyết định không được sau hôm nay."), field)
    return value


def _clean_stars(value) -> int:
    try:
        stars = int(value)
    except (TypeError, ValueError):
        raise CertificateError(_("Hạng sao phải là 3, 4 hoặc 5."), "stars") from None
    if stars not in (3, 4, 5):
        raise CertificateError(_("Hạng sao phải là 3, 4 hoặc 5."), "stars")
    return stars


def _clean_score(value, field: str = "score", maximum: int = 100) -> Decimal | None:
    if value is None or value == "":
        return None
    try:  # typed text as Vietnamese write it (85,5); numbers from a spreadsheet as they are
        score = parse_number(value) if isinstance(value, str) else Decimal(str(value))
    except (InvalidOperation, NumberError):
        raise CertificateError(_("Điểm phải là số từ 0 đến %(n)d.", n=maximum), field) from None
    if not score.is_finite() or score < 0 or score > maximum:
        raise CertificateError(_("Điểm phải là số từ 0 đến %(n)d.", n=maximum), field)
    return score.quantize(Decimal("0.01"))


def _clean_parts(parts, act: str) -> dict | None:
    if not parts:
        return None
    if not isinstance(parts, dict) or set(parts) - set(PARTS):
        raise CertificateError(_("Điểm phần chỉ gồm A, B, C."), "part_scores")
    maxima = (ACTS.get(act) or ACTS[DEFAULT_CRITERIA_ACT]).parts
    cleaned = {}
    for part in PARTS:
        value = _clean_score(parts.get(part), f"part_{part.lower()}", maximum=maxima[part])
        if value is not None:
            cleaned[part] = str(value)
    return cleaned or None


def _check_consistency(values: dict) -> None:
    """Score within the star's band; part scores add up to the score; validity after the decision."""
    score, stars, parts = values["score"], values["stars"], values["part_scores"]
    if parts and len(parts) == len(PARTS):
        total = sum(Decimal(v) for v in parts.values())
        if score is None:
            values["score"] = score = total
        elif abs(total - score) > Decimal("0.05"):
            raise CertificateError(
                _("Tổng điểm các phần (%(total)s) khác điểm tổng (%(score)s).", total=total, score=score), "score"
            )
    if score is not None and stars_for_score(score) != stars:
        low, high = STAR_BANDS[stars]
        raise CertificateError(
            _(
                "Điểm %(score)s không khớp hạng %(stars)d sao (cần từ %(low)s đến dưới %(high)s).",
                score=score,
                stars=stars,
                low=low,
                high=high,
            ),
            "score",
        )
    if values["valid_from"] < values["decision_date"]:
        raise CertificateError(_("Ngày có hiệu lực không được trước ngày quyết định."), "valid_from")
    if values["valid_to"] < values["valid_from"]:
        raise CertificateError(_("Ngày hết hạn phải sau ngày có hiệu lực."), "valid_to")


def _clean_choice(value, allowed, field: str) -> str:
    if value not in allowed:
        raise CertificateError(_("Giá trị không hợp lệ."), field)
    return value


# ----------------------------------------------------------------------------- status


def certificate_status(cert: Certificate, on: date | None = None) -> CertificateStatus:
    on = on or clock.today()
    if on < cert.valid_from:
        return CertificateStatus("not_yet_valid", on)
    ends = [
        (day, rank, code)
        for day, rank, code in (
            (cert.revoked_on, 0, "revoked"),
            (cert.superseded_on, 1, "superseded"),
            (cert.valid_to + relativedelta(days=1), 2, "expired"),
        )
        if day is not None
    ]
    first_end = min(ends)
    if on >= first_end[0]:
        return CertificateStatus(first_end[2], on)
    days_left = (cert.valid_to - on).days
    for window in EXPIRY_WINDOWS:
        if days_left <= window:
            return CertificateStatus("expiring", on, days_left, window)
    return CertificateStatus("valid", on, days_left)


def certificate_valid_on(on: date):
    """SQL condition: the certificate is valid (or expiring) on the day. For lists and counts."""
    return and_(
        Certificate.valid_from <= on,
        Certificate.valid_to >= on,
        or_(Certificate.revoked_on.is_(None), Certificate.revoked_on > on),
        or_(Certificate.superseded_on.is_(None), Certificate.superseded_on > on),
    )


def certificate_status_filter(code: str, on: date):
    """SQL condition matching `certificate_status(cert, on).code == code` (expiring = within 90 days)."""
    valid = certificate_valid_on(on)
    last_window = on + relativedelta(days=EXPIRY_WINDOWS[-1])
    if code == "valid":
        return and_(valid, Certificate.valid_to > last_window)
    if code == "expiring":
        return and_(valid, Certificate.valid_to <= last_window)
    if code == "not_yet_valid":
        return Certificate.valid_from > on
    # Which end came first (ties: revoked, then superseded, then expired), NULL-safe.
    revoked_on = func.coalesce(Certificate.revoked_on, date.max)
    superseded_on = func.coalesce(Certificate.superseded_on, date.max)
    expired_on = Certificate.valid_to + 1
    started = Certificate.valid_from <= on
    if code == "revoked":
        return and_(started, revoked_on <= on, revoked_on <= superseded_on, revoked_on <= expired_on)
    if code == "superseded":
        return and_(started, superseded_on <= on, superseded_on < revoked_on, superseded_on <= expired_on)
    if code == "expired":
        return and_(started, expired_on <= on, expired_on < revoked_on, expired_on < superseded_on)
    raise ValueError(code)


# ----------------------------------------------------------------------------- reading


def product_certificates(product: Product) -> list[Certificate]:
    """The product's chain, newest first."""
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.product_id == product.id)
            .order_by(Certificate.valid_from.desc(), Certificate.decision_date.desc(), Certificate.id.desc())
        )
    )


def product_current_certificate(product: Product, on: date | None = None) -> Certificate | None:
    on = on or clock.today()
    return db.session.scalar(
        select(Certificate)
        .where(Certificate.product_id == product.id, certificate_valid_on(on))
        .order_by(Certificate.valid_from.desc(), Certificate.id.desc())
        .limit(1)
    )


def product_current_stars(product: Product, on: date | None = None) -> int | None:
    cert = product_current_certificate(product, on)
    return cert.stars if cert else None


def current_stars_column(on: date | None = None):
    """Correlated scalar subquery: the stars of Product's certificate valid on the day (or NULL)."""
    on = on or clock.today()
    return (
        select(Certificate.stars)
        .where(Certificate.product_id == Product.id, certificate_valid_on(on))
        .order_by(Certificate.valid_from.desc(), Certificate.id.desc())
        .limit(1)
        .correlate(Product)
        .scalar_subquery()
    )


def current_stars_by_product(product_ids, on: date | None = None) -> dict[int, int]:
    """{product_id: stars} for the products with a certificate valid on the day."""
    ids = list(product_ids)
    if not ids:
        return {}
    on = on or clock.today()
    rows = db.session.execute(
        select(Certificate.product_id, Certificate.stars)
        .where(Certificate.product_id.in_(ids), certificate_valid_on(on))
        .order_by(Certificate.product_id, Certificate.valid_from)
    )
    return {product_id: stars for product_id, stars in rows}


# ----------------------------------------------------------------------------- writing


def _lock_product(product_id: int) -> None:
    """Writes to one product's chain are serialised (two officers, an import and an officer)."""
    db.session.execute(select(Product.id).where(Product.id == product_id).with_for_update())


def certificate_version(cert: Certificate) -> str:
    """The row's version as a page shows it: PostgreSQL's xmin, which every committed update of the row changes
    (a correction, a revocation, a successor taking over). Carried by the forms in a hidden field."""
    return db.session.scalar(
        select(literal_column("certificates.xmin::text")).select_from(Certificate).where(Certificate.id == cert.id)
    )


def _check_version(cert: Certificate, expected_version: str | None) -> None:
    """Under the row lock: refuse when the row is not the one the officer saw."""
    if expected_version is not None and certificate_version(cert) != expected_version:
        raise CertificateChangedMeanwhile()


def _chain_refresh(product_id: int) -> None:
    """Each certificate is superseded by the product's next one, from the day that one takes effect."""
    db.session.flush()
    chain = list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.product_id == product_id)
            .order_by(Certificate.valid_from, Certificate.decision_date, Certificate.id)
        )
    )
    for cert, new_by, new_on in _links(chain):
        if cert.superseded_by_id != new_by or cert.superseded_on != new_on:
            cert.superseded_by_id, cert.superseded_on = new_by, new_on
    db.session.flush()


def _links(chain) -> list[tuple]:
    """(certificate, the id of the one that supersedes it, from which day) along a product's chain, ordered by
    validity, decision date and id: the last one is superseded by none."""
    ordered = sorted(chain, key=lambda c: (c.valid_from, c.decision_date, c.id))
    return [
        (cert, successor.id if successor else None, successor.valid_from if successor else None)
        for cert, successor in zip(ordered, ordered[1:] + [None], strict=True)
    ]


def _infer_kind(product_id: int, decision_date: date, stars: int) -> str:
    previous = db.session.scalar(
        select(Certificate)
        .where(Certificate.product_id == product_id, Certificate.decision_date < decision_date)
        .order_by(Certificate.decision_date.desc(), Certificate.id.desc())
        .limit(1)
    )
    return _kind_after(previous, stars)


def _kind_after(previous, stars: int) -> str:
    """A new certificate's kind after the product's previous decision (None: its first)."""
    if previous is None:
        return "new"
    return "upgrade" if stars > previous.stars else "re_recognition"


def _find(product_id: int, decision_number: str, decision_date: date) -> Certificate | None:
    return db.session.scalar(
        select(Certificate).where(
            Certificate.product_id == product_id,
            Certificate.decision_number == decision_number,
            Certificate.decision_date == decision_date,
        )
    )


def _new_values(number: str, decided: date, *, stars, authority, score, part_scores, act, valid_from, valid_to) -> dict:
    """A new certificate's values by the rules (cleaned, defaults, consistency), from its cleaned decision number and
    date; kind and source apart. Raises CertificateError."""
    stars = _clean_stars(stars)
    act = _clean_text(act, "act", required=False, max_length=32) or criteria_act_on(decided)
    values = {
        "stars": stars,
        "score": _clean_score(score),
        "part_scores": _clean_parts(part_scores, act),
        "decision_date": decided,
        "valid_from": _clean_date(valid_from, "valid_from") if valid_from else decided,
        "valid_to": _clean_date(valid_to, "valid_to") if valid_to else certificate_term_end(decided),
    }
    _check_consistency(values)
    authority = _clean_choice(authority, AUTHORITY_LABELS, "authority") if authority else None
    return {
        **values,
        "decision_number": number,
        "act": act,
        "authority": authority or default_authority(act, stars),
    }


def _decision_checked(decision_number, decision_date, source, today) -> tuple[date, str, date]:
    """(today, number, date) of a decision to record, checked first and in this order by both ways of recording."""
    today = today or clock.today()
    number = _clean_decision_number(decision_number)
    decided = _clean_date(decision_date, "decision_date", not_after=today)
    _clean_choice(source, SOURCES, "source")
    return today, number, decided


def certificate_first_values(
    *,
    stars,
    decision_number: str,
    decision_date: date,
    authority: str | None = None,
    score=None,
    part_scores: dict | None = None,
    act: str | None = None,
    valid_from: date | None = None,
    valid_to: date | None = None,
    kind: str | None = None,
    source: str = "manual",
    today: date | None = None,
) -> dict:
    """The values of a new product's first certificate, checked by the same rules as certificate_record and in the
    same order (its kind "new" unless told); no query. Raises CertificateError (with .field). For
    certificates_record_first(), and to check a new decision before it is recorded."""
    today, number, decided = _decision_checked(decision_number, decision_date, source, today)
    values = _new_values(
        number,
        decided,
        stars=stars,
        authority=authority,
        score=score,
        part_scores=part_scores,
        act=act,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    return {**values, "kind": _clean_choice(kind, KINDS, "kind") if kind else "new", "source": source}


def certificates_record_first(firsts: list[tuple[int, dict]]) -> list[int]:
    """Record the first certificates of products inserted by the caller's own, still open transaction, set-wise (the
    import's batches). `firsts`: (product id, certificate_first_values(…)). No one else can see such a product, so
    it has no certificate yet and nothing to lock, look up, infer or re-chain: what certificate_record would do for
    it comes down to inserting the values. Each certificate is audited (app/audit/services.audited_insert) and told
    to the features (certificate_changed) as certificate_record does. Returns the ids in order."""
    defaults = [column_defaults(Certificate) for _ in firsts]
    rows = [{**d, **values, "product_id": product_id} for d, (product_id, values) in zip(defaults, firsts, strict=True)]
    ids = audited_insert(Certificate, rows)
    tenant_id = current_tenant_id()
    for cert_id, row in zip(ids, rows, strict=True):
        certificate_changed(SimpleNamespace(tenant_id=tenant_id, id=cert_id, **row))  # the row, read-only
    return ids


CHAIN_COLUMNS = (
    "id",
    "product_id",
    "decision_number",
    "decision_date",
    "stars",
    "valid_from",
    "superseded_by_id",
    "superseded_on",
)


def certificates_record_new(items: list[tuple[int, dict]], *, source: str, today: date | None = None) -> list:
    """New decisions of existing products, recorded set-wise (the import's batches): what certificate_record does for
    each item, in order, when its decision is not recorded yet, in a few statements: the products locked (one
    statement), their chains read (one), each item's values checked and its kind inferred from the chain as it
    stands after the items before it, the certificates inserted (one, audited), each chain re-linked after each
    item as _chain_refresh does (each link that changes audited as its own update), every certificate told to the
    features. `items`: (product id, certificate_record's value fields). Raises CertificateError; a decision found
    recorded once the products are locked (recorded meanwhile) too: certificate_record answers that one.
    Returns a read-only copy of each new certificate's row, in order."""
    today = today or clock.today()
    product_ids = sorted({product_id for product_id, _fields in items})
    db.session.execute(select(Product.id).where(Product.id.in_(product_ids)).order_by(Product.id).with_for_update())
    chains: dict[int, list] = {product_id: [] for product_id in product_ids}
    statement = select(*(getattr(Certificate, c) for c in CHAIN_COLUMNS)).where(Certificate.product_id.in_(product_ids))
    for row in db.session.execute(statement):
        chains[row.product_id].append(SimpleNamespace(**dict(zip(CHAIN_COLUMNS, row, strict=True))))
    rows, links = [], []  # the new rows; (certificate, {attribute: (before, after)}) of every link changed, in order
    for n, (product_id, fields) in enumerate(items):
        number = _clean_decision_number(fields["decision_number"])
        decided = _clean_date(fields["decision_date"], "decision_date", not_after=today)
        _clean_choice(source, SOURCES, "source")
        chain = chains[product_id]
        if any(c.decision_number == number and c.decision_date == decided for c in chain):
            raise CertificateError(_("Sản phẩm đã có giấy chứng nhận theo quyết định này."), "decision_number")
        values = _new_values(
            number,
            decided,
            **{
                k: fields.get(k)
                for k in ("stars", "authority", "score", "part_scores", "act", "valid_from", "valid_to")
            },
        )
        previous = max(
            (c for c in chain if c.decision_date < decided), key=lambda c: (c.decision_date, c.id), default=None
        )
        kind = fields.get("kind")
        kind = _clean_choice(kind, KINDS, "kind") if kind else _kind_after(previous, values["stars"])
        row = {**column_defaults(Certificate), **values, "kind": kind, "source": source, "product_id": product_id}
        rows.append(row)
        # Ids come in the items' order, after every existing one: a stand-in id orders the chain until then.
        chain.append(SimpleNamespace(**{**row, "id": NEW_ID + n, "superseded_by_id": None, "superseded_on": None}))
        for cert, new_by, new_on in _links(chain):
            if cert.superseded_by_id != new_by or cert.superseded_on != new_on:
                change = {
                    "superseded_by_id": (cert.superseded_by_id, new_by),
                    "superseded_on": (cert.superseded_on, new_on),
                }
                links.append((cert, {k: v for k, v in change.items() if v[0] != v[1]}))
                cert.superseded_by_id, cert.superseded_on = new_by, new_on
    ids = audited_insert(Certificate, rows)
    real = {NEW_ID + n: cert_id for n, cert_id in enumerate(ids)}

    def _real(value):
        return real.get(value, value)

    audited_update(
        Certificate,
        [
            (_real(cert.id), {k: (_real(before), _real(after)) for k, (before, after) in change.items()})
            for cert, change in links
        ],
    )
    tenant_id = current_tenant_id()
    copies = [SimpleNamespace(tenant_id=tenant_id, id=cert_id, **row) for cert_id, row in zip(ids, rows, strict=True)]
    for copy in copies:
        certificate_changed(copy)
    return copies


NEW_ID = 1 << 62  # above any id PostgreSQL's identity will give


def certificate_record(
    product: Product,
    *,
    stars,
    decision_number: str,
    decision_date: date,
    authority: str | None = None,
    score=None,
    part_scores: dict | None = None,
    act: str | None = None,
    valid_from: date | None = None,
    valid_to: date | None = None,
    kind: str | None = None,
    source: str = "manual",
    today: date | None = None,
) -> tuple[Certificate, bool]:
    """Record a recognition decision of the product; returns (certificate, created).

    Idempotent on (product, decision number, decision date): recording the same decision again
    creates nothing; the values passed explicitly (stars, score, parts, authority, act, validity, kind)
    are applied as corrections when they differ (audited like any update), and created is False.
    Defaults: act = the criteria act in force on the decision date; authority = who recognises the
    stars under that act; valid_from = decision date; valid_to = 36 months on (last valid day);
    kind = "new" for a product's first certificate, "upgrade" when the stars rise, else "re_recognition".
    A later certificate supersedes the product's earlier one from its valid_from.
    Raises CertificateError (with .field) on invalid input. A product inserted by the caller's own, still
    open transaction gets its first certificate set-wise from certificates_record_first (the same rules).
    """
    today, number, decided = _decision_checked(decision_number, decision_date, source, today)
    _lock_product(product.id)
    existing = _find(product.id, number, decided)
    if existing is not None:
        given = {
            "stars": stars,
            "score": score,
            "part_scores": part_scores,
            "authority": authority,
            "act": act,
            "valid_from": valid_from,
            "valid_to": valid_to,
            "kind": kind,
        }
        corrections = {k: v for k, v in given.items() if v is not None and v != ""}
        if corrections:
            certificate_correct(existing, today=today, **corrections)
        return existing, False

    values = _new_values(
        number,
        decided,
        stars=stars,
        authority=authority,
        score=score,
        part_scores=part_scores,
        act=act,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    cert = Certificate(
        product_id=product.id,
        kind=_clean_choice(kind, KINDS, "kind") if kind else _infer_kind(product.id, decided, values["stars"]),
        source=source,
        **values,
    )
    try:
        with db.session.begin_nested():
            db.session.add(cert)
            db.session.flush()
    except exc.IntegrityError:
        # The same decision recorded meanwhile (the product lock makes this rare): answer as a repeat.
        existing = _find(product.id, number, decided)
        if existing is None:
            raise
        return existing, False
    _chain_refresh(product.id)
    certificate_changed(cert)
    return cert, True


def certificate_correct(
    cert: Certificate, *, today: date | None = None, expected_version: str | None = None, **fields
) -> Certificate:
    """Correct a certificate's recorded values (audited by the flush hook). Unknown fields are refused.

    When the decision date moves and validity was the default for the old date, it follows the new one.
    expected_version (certificate_version() when the page was shown) is checked under the row lock: if
    someone changed the certificate meanwhile, CertificateChangedMeanwhile is raised and nothing changes.
    """
    unknown = set(fields) - set(CORRECTABLE)
    if unknown:
        raise CertificateError(_("Không sửa được trường %(f)s.", f=", ".join(sorted(unknown))))
    today = today or clock.today()
    _lock_product(cert.product_id)
    db.session.refresh(cert, with_for_update=True)
    _check_version(cert, expected_version)
    values = {key: getattr(cert, key) for key in CORRECTABLE}
    values["score"] = cert.score
    if "decision_number" in fields:
        values["decision_number"] = _clean_decision_number(fields["decision_number"])
    if "decision_date" in fields:
        new_date = _clean_date(fields["decision_date"], "decision_date", not_after=today)
        if "valid_from" not in fields and cert.valid_from == cert.decision_date:
            values["valid_from"] = new_date
        if "valid_to" not in fields and cert.valid_to == certificate_term_end(cert.decision_date):
            values["valid_to"] = certificate_term_end(new_date)
        values["decision_date"] = new_date
    if "stars" in fields:
        values["stars"] = _clean_stars(fields["stars"])
    if "act" in fields:
        values["act"] = _clean_text(fields["act"], "act", required=True, max_length=32)
    if "score" in fields:
        values["score"] = _clean_score(fields["score"])
    if "part_scores" in fields:
        values["part_scores"] = _clean_parts(fields["part_scores"], values["act"])
    if "valid_from" in fields:
        values["valid_from"] = _clean_date(fields["valid_from"], "valid_from")
    if "valid_to" in fields:
        values["valid_to"] = _clean_date(fields["valid_to"], "valid_to")
    if "authority" in fields:
        values["authority"] = _clean_choice(fields["authority"], AUTHORITY_LABELS, "authority")
    if "kind" in fields:
        values["kind"] = _clean_choice(fields["kind"], KINDS, "kind")
    _check_consistency(values)
    if (values["decision_number"], values["decision_date"]) != (cert.decision_number, cert.decision_date):
        clash = _find(cert.product_id, values["decision_number"], values["decision_date"])
        if clash is not None and clash.id != cert.id:
            raise CertificateError(_("Sản phẩm đã có giấy chứng nhận theo quyết định này."), "decision_number")
    if cert.revoked_on is not None and cert.revoked_on < values["valid_from"]:
        raise CertificateError(_("Ngày thu hồi không được trước ngày có hiệu lực."), "valid_from")
    for key, value in values.items():
        if getattr(cert, key) != value:
            setattr(cert, key, value)
    _chain_refresh(cert.product_id)
    certificate_changed(cert)
    return cert


def certificate_revoke(
    cert: Certificate,
    reason: str,
    decision_number: str,
    decision_date: date,
    *,
    today: date | None = None,
    expected_version: str | None = None,
) -> Certificate:
    """Revoke (thu hồi) by decision: not valid from the decision date on. Refused twice; with
    expected_version, refused as changed meanwhile when the certificate changed since the page was shown."""
    today = today or clock.today()
    reason = _clean_text(reason, "reason", required=True, max_length=2000)
    number = _clean_decision_number(decision_number, "revoke_decision_number")
    revoked_on = _clean_date(decision_date, "revoke_decision_date", not_after=today)
    _lock_product(cert.product_id)
    db.session.refresh(cert, with_for_update=True)
    _check_version(cert, expected_version)
    if cert.revoked_on is not None:
        raise CertificateError(_("Giấy chứng nhận này đã bị thu hồi."))
    if revoked_on < cert.valid_from:
        raise CertificateError(_("Ngày thu hồi không được trước ngày có hiệu lực."), "revoke_decision_date")
    if not certificate_status(cert, revoked_on).is_valid:
        raise CertificateError(
            _(
                "Giấy chứng nhận đã hết hiệu lực trước ngày thu hồi (%(status)s).",
                status=certificate_status(cert, revoked_on).label,
            ),
            "revoke_decision_date",
        )
    cert.revoked_on, cert.revoke_reason, cert.revoke_decision_number = revoked_on, reason, number
    db.session.flush()
    certificate_changed(cert)
    return cert


# ----------------------------------------------------------------------------- lists


@dataclass(frozen=True)
class CertificateRow:
    certificate: Certificate
    product: Product
    producer: Producer
    status: CertificateStatus


STATUS_FILTERS = ("valid_any", "valid", "expiring", "expired", "revoked", "superseded", "not_yet_valid")


def certificates_query(
    *,
    on: date | None = None,
    status: str | None = None,
    stars: int | None = None,
    year: int | None = None,
    query: str = "",
    producer_id: int | None = None,
):
    """Certificates with their product and producer, newest decision first; filters are optional.

    status "valid_any" means valid or expiring on the day; the others match certificate_status().code.
    """
    on = on or clock.today()
    stmt = (
        select(Certificate, Product, Producer)
        .join(Product, (Product.id == Certificate.product_id) & (Product.tenant_id == Certificate.tenant_id))
        .join(Producer, (Producer.id == Product.producer_id) & (Producer.tenant_id == Product.tenant_id))
        .order_by(Certificate.decision_date.desc(), Certificate.id.desc())
    )
    if status == "valid_any":
        stmt = stmt.where(certificate_valid_on(on))
    elif status:
        stmt = stmt.where(certificate_status_filter(status, on))
    if stars:
        stmt = stmt.where(Certificate.stars == stars)
    if year:
        stmt = stmt.where(
            Certificate.decision_date >= date(year, 1, 1), Certificate.decision_date <= date(year, 12, 31)
        )
    if query:
        stmt = stmt.where(Product.id.in_(ids_found(func.search.product_ids, query)))
    if producer_id:
        stmt = stmt.where(Product.producer_id == producer_id)
    return stmt


def certificate_rows(rows, on: date | None = None) -> list[CertificateRow]:
    on = on or clock.today()
    return [CertificateRow(cert, product, producer, certificate_status(cert, on)) for cert, product, producer in rows]


def producer_certificates(producer_id: int, on: date | None = None) -> list[CertificateRow]:
    """A producer's own certificates (every product), newest first, with their status on the day."""
    return certificate_rows(db.session.execute(certificates_query(producer_id=producer_id, on=on)).all(), on)


def product_certificate_rows(product: Product, on: date | None = None) -> list[CertificateRow]:
    # Usually in the identity map already (the product's page loaded it): no query then.
    producer = db.session.get(Producer, (product.tenant_id, product.producer_id))
    return [
        CertificateRow(cert, product, producer, certificate_status(cert, on or clock.today()))
        for cert in product_certificates(product)
    ]


def certificate_decision_years() -> list[int]:
    years = db.session.scalars(select(func.extract("year", Certificate.decision_date)).distinct())
    return sorted({int(y) for y in years}, reverse=True)
