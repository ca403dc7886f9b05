"""Vietnamese first, English complete; NFC input; Vietnamese formats."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path

from babel.messages.pofile import read_po
from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from tenants.context import tenant_scope
from tests.conftest import csrf_token

ROOT = Path(__file__).resolve().parent.parent
EN_CATALOG = ROOT / "app" / "translations" / "en" / "LC_MESSAGES" / "messages.po"


def test_english_catalog_is_complete_and_current(tmp_path):
    """Every UI string in the code has an English translation (none fuzzy, none missing)."""
    template = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-o",
            str(template),
            "--no-location",
            "--omit-header",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with template.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    with EN_CATALOG.open("rb") as f:
        catalog = read_po(f)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(str(i) for i in wanted - translated)
    assert missing == [], f"{len(missing)} untranslated, e.g. {missing[:5]}"


def test_pages_default_to_vietnamese_and_switch_to_english(app, officer_login, tenants):
    client, user_id, _email = officer_login("bac-giang")
    page = client.get("/bac-giang/").get_data(as_text=True)
    assert 'lang="vi"' in page and "Tổng quan chương trình OCOP" in page
    token = csrf_token(client, "/bac-giang/")
    response = client.post("/bac-giang/lang/en", data={"csrf_token": token, "next": "/bac-giang/targets"})
    assert response.status_code == 302 and response.headers["Location"] == "/bac-giang/targets"
    page = client.get("/bac-giang/").get_data(as_text=True)
    assert 'lang="en"' in page and "OCOP programme overview" in page
    # Kept on the user: a new session (another device) opens in English too.
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        assert db.session.scalar(select(User.locale).where(User.id == user_id)) == "en"


def test_language_switch_refuses_open_redirects(client):
    token = csrf_token(client, "/")
    response = client.post("/lang/en", data={"csrf_token": token, "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    assert 'lang="en"' in client.get("/").get_data(as_text=True)


def test_input_is_normalised_to_nfc(app, tenants, officer_login):
    admin, _uid, _email = officer_login("bac-giang", roles=("province_admin",))
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Hường")
    assert decomposed != "Nguyễn Thị Hường"
    token = csrf_token(admin, "/bac-giang/users/new")
    email = f"nfc-{token[:6].lower()}@example.vn"
    admin.post(
        "/bac-giang/users/new",
        data={
            "csrf_token": token,
            "full_name": decomposed,
            "email": email,
            "roles": ["inspector"],
            "unit_id": "0",
            "active": "y",
        },
    )
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        name = db.session.scalar(select(User.full_name).where(User.email == email))
    assert name == "Nguyễn Thị Hường"


def test_vietnamese_formats(app):
    from flask_babel import force_locale

    from app.core.i18n import format_day, format_number, format_vnd

    with app.test_request_context():
        with force_locale("vi"):
            assert format_vnd(11015954000) == "11.015.954.000 ₫"
            assert format_number(Decimal("0.75")) == "0,75"
        with force_locale("en"):
            assert format_vnd(460000000) == "460,000,000 ₫"
        assert format_day(date(2025, 7, 1)) == "01/07/2025"


def test_whole_numbers_format_as_babel_does_in_every_language(app):
    """format_number's fast path for ints (and number_formatter, bound once per page) give Babel's own text."""
    from babel.numbers import format_decimal as babel_format_decimal
    from flask_babel import force_locale

    from app.core.i18n import format_number, number_formatter

    values = [0, 7, 999, 1000, 1234, -1234, 1234567, -98765432, 10**15, True]
    with app.test_request_context():
        for locale in app.config["LANGUAGES"]:
            with force_locale(locale):
                bound = number_formatter()
                for value in values:
                    expected = babel_format_decimal(Decimal(value), format="#,##0", locale=locale)
                    assert format_number(value) == bound(value) == expected, (locale, value)
                assert bound(Decimal("0.75")) == format_number(Decimal("0.75"))
        with force_locale("vi"):
            assert format_number(1234567) == "1.234.567"
        with force_locale("en"):
            assert format_number(1234567) == "1,234,567"
