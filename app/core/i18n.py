"""Language choice and Vietnamese formats (VND, dd/mm/yyyy)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.numbers import format_decimal as babel_format_decimal
from babel.numbers import get_group_symbol, get_minus_sign_symbol
from flask import current_app, has_request_context, redirect, request, session
from flask_babel import format_datetime, format_decimal, get_locale
from flask_login import current_user

from app.core.redirects import safe_next_path
from app.extensions import db


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # jobs and commands speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    user_locale = getattr(current_user, "locale", None) if current_user else None
    if user_locale in languages:
        return user_locale
    if session.get("lang") in languages:
        return session["lang"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def format_vnd(amount) -> str:
    """1234567 -> '1.234.567 ₫' in Vietnamese, '1,234,567 ₫' in English."""
    if amount is None:
        return "—"
    return f"{format_decimal(Decimal(amount), format='#,##0')} ₫"


# Per locale: (group symbol, minus sign) when whole numbers format as plain digits grouped by three with it.
_INTEGER_FORMATS: dict[str, tuple[str, str] | None] = {}


def _integer_format(locale) -> tuple[str, str] | None:
    code = str(locale)
    if code not in _INTEGER_FORMATS:
        group, minus = get_group_symbol(locale), get_minus_sign_symbol(locale)
        sample = babel_format_decimal(Decimal(-1234567), format="#,##0", locale=locale)
        _INTEGER_FORMATS[code] = (group, minus) if sample == f"{minus}1{group}234{group}567" else None
    return _INTEGER_FORMATS[code]


def format_number(value) -> str:
    if value is None:
        return "—"
    if type(value) is int:  # counts: without Babel's pattern machinery, same text
        return number_formatter()(value)
    value = Decimal(value)
    pattern = "#,##0" if value == value.to_integral_value() else "#,##0.##"
    return format_decimal(value, format=pattern)


def number_formatter():
    """format_number bound to the current locale, for a page that formats hundreds of numbers (whole
    numbers without looking the locale up again): `{% set num = number_formatter() %}…{{ num(n) }}`."""
    symbols = _integer_format(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
    if symbols is None:
        return format_number
    group, minus = symbols

    def formatted(value) -> str:
        if type(value) is not int:
            return format_number(value)
        text = f"{abs(value):,}".replace(",", group)
        return minus + text if value < 0 else text

    return formatted


def format_day(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return value.strftime("%d/%m/%Y") if isinstance(value, date) else str(value)


def format_moment(value) -> str:
    if value is None:
        return ""
    return format_datetime(value, "dd/MM/yyyy HH:mm")


def current_language() -> str:
    return str(get_locale() or "vi")


def register_filters(app) -> None:
    """The core's own filters; features add theirs from their blueprints (the core never lists features)."""
    app.jinja_env.filters.update(vnd=format_vnd, number=format_number, day=format_day, moment=format_moment)
    app.jinja_env.globals.update(current_language=current_language, number_formatter=number_formatter)


def language_switch_response(code: str):
    """Keep the choice in the session, and on the signed-in person so it follows them everywhere.

    Each area (tenant, national, platform) has its own route so that its signed-in person is known.
    """
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.remember_locale(code)  # users and accounts each keep it their own way
            db.session.commit()
    return redirect(safe_next_path(request.form.get("next"), "/"))
