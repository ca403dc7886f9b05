"""What each notice says: a subject and a body per template, Vietnamese source strings (English in the
catalogue), filled with the notice's params in the reader's language. Features above add their own
templates with `register_template` (from their blueprint's record_once)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

ISO_DAY_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class Message:
    subject: object  # lazy strings: rendered in the reader's language
    body: object


BUILTIN = {
    # params: product, producer, decision_number, valid_to (ISO day), days_left
    "certificate_expiry": Message(
        _l("Giấy chứng nhận OCOP của %(product)s hết hiệu lực ngày %(valid_to)s"),
        _l(
            "Giấy chứng nhận OCOP số %(decision_number)s của sản phẩm %(product)s (%(producer)s) hết hiệu lực "
            "ngày %(valid_to)s, còn %(days_left)s ngày. Hãy chuẩn bị hồ sơ đánh giá lại trước khi hết hạn."
        ),
    ),
    # Evaluation results, one template per outcome. params: product, round, decision_number, score, stars
    "evaluation_recognised": Message(
        _l("Kết quả đánh giá OCOP của %(product)s: được công nhận"),
        _l(
            "Sản phẩm %(product)s được công nhận %(stars)s sao (điểm %(score)s) theo quyết định số "
            "%(decision_number)s, đợt %(round)s. Xem chi tiết trên cổng OCOP."
        ),
    ),
    "evaluation_not_recognised": Message(
        _l("Kết quả đánh giá OCOP của %(product)s: chưa được công nhận"),
        _l(
            "Sản phẩm %(product)s chưa được công nhận (điểm %(score)s) theo quyết định số %(decision_number)s, "
            "đợt %(round)s. Xem điểm từng tiêu chí và quyền đề nghị phúc khảo trên cổng OCOP."
        ),
    ),
    "evaluation_failed_mandatory": Message(
        _l("Kết quả đánh giá OCOP của %(product)s: chưa đạt tiêu chí bắt buộc"),
        _l(
            "Sản phẩm %(product)s chưa đạt tiêu chí bắt buộc nên chưa được công nhận (quyết định số "
            "%(decision_number)s, đợt %(round)s). Xem chi tiết và quyền đề nghị phúc khảo trên cổng OCOP."
        ),
    ),
    "evaluation_proposed_ministry": Message(
        _l("Kết quả đánh giá OCOP của %(product)s: đề nghị Bộ công nhận 5 sao"),
        _l(
            "Sản phẩm %(product)s đạt %(score)s điểm và được đề nghị Bộ xem xét công nhận 5 sao (đợt %(round)s). "
            "Bạn sẽ nhận thông báo khi có quyết định của Bộ."
        ),
    ),
    # params: product, due_on (ISO day), what
    "inspection_overdue": Message(
        _l("Kiểm tra sản phẩm %(product)s đã quá hạn"),
        _l("Đợt kiểm tra %(what)s của sản phẩm %(product)s đến hạn ngày %(due_on)s nhưng chưa được thực hiện."),
    ),
    # params: product, due_on (ISO day), what
    "corrective_action_overdue": Message(
        _l("Biện pháp khắc phục của %(product)s đã quá hạn"),
        _l(
            "Biện pháp khắc phục \u201c%(what)s\u201d của sản phẩm %(product)s đến hạn ngày %(due_on)s chưa được hoàn thành."
        ),
    ),
}


def register_template(app: Flask, name: str, message: Message) -> None:
    templates = app.extensions.setdefault("ocop.notice_templates", {})
    if name in BUILTIN or name in templates:
        raise ValueError(f"notice template {name!r} is registered twice")
    templates[name] = message


def message_for(name: str) -> Message | None:
    return BUILTIN.get(name) or current_app.extensions.get("ocop.notice_templates", {}).get(name)


def _shown(value) -> str:
    if isinstance(value, str) and (match := ISO_DAY_RE.match(value)):
        return f"{match[3]}/{match[2]}/{match[1]}"  # dd/mm/yyyy, as everywhere
    return "—" if value is None else str(value)


class _Params(dict):
    def __missing__(self, key):  # a template newer than the row: show a dash, never fail the delivery
        return "—"


def render(name: str, params: dict, locale: str | None = None) -> tuple[str, str]:
    """(subject, body) of a notice in the given language (the default language when None)."""
    message = message_for(name)
    if message is None:
        raise LookupError(f"unknown notice template {name!r}")
    values = _Params({key: _shown(value) for key, value in (params or {}).items()})
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        return str(message.subject) % values, str(message.body) % values
