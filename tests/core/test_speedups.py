"""What the per-request savings keep: the same HTML and errors, fresh data after a change, one province's
cached lists never shown to another, sessions that still slide, dead connections still replaced."""

from __future__ import annotations

import shutil
import time

import psycopg
import pytest
from sqlalchemy import text
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectField

from app.core import sessions
from app.core.forms import Options, QuickSelectField
from app.extensions import db
from tenants.context import Actor, acting_as
from tenants.sync import PROVINCES_DIR, sync_all
from tests.conftest import create_user
from tests.factories import signed_in


def _coerce(value):
    return None if value in (None, "", "0", 0) else int(value)


CHOICES = [(0, "— tất cả —"), (1, 'Xã <An> & "Bình"'), (2, "Phường Hai")]


class _Both(Form):
    slow = SelectField("x", coerce=_coerce)
    quick = QuickSelectField("x", coerce=_coerce)


@pytest.mark.parametrize("picked", ["", "0", "1", "2"])
def test_quick_select_renders_what_wtforms_renders(picked):
    form = _Both(MultiDict({"slow": picked, "quick": picked}))
    form.slow.choices, form.quick.choices = CHOICES, Options(CHOICES)
    assert form.validate()
    assert str(form.quick()).replace('id="quick" name="quick"', "") == str(form.slow()).replace(
        'id="slow" name="slow"', ""
    )
    assert "&lt;An&gt; &amp; &#34;Bình&#34;" in str(form.quick())


@pytest.mark.parametrize("picked", ["3", "99999999999999999999"])
def test_quick_select_refuses_what_is_not_offered(app, picked):
    with app.test_request_context():
        form = _Both(MultiDict({"slow": picked, "quick": picked}))
        form.slow.choices, form.quick.choices = CHOICES, Options(CHOICES)
        assert not form.validate()
        assert form.quick.errors == form.slow.errors and len(form.quick.errors) == 1


def _unit_filter(client, slug: str) -> str:
    page = client.get(f"/{slug}/products").get_data(as_text=True)
    return page[page.index('name="unit_id"') : page.index("</select>", page.index('name="unit_id"'))]


def test_communes_cached_per_province_and_renewed_by_a_sync(app, tenants, tmp_path):
    _uid, email = create_user(app, tenants["nam-dinh"], roles=("province_admin",))
    nam_dinh = signed_in(app, "nam-dinh", email)
    _uid, other = create_user(app, tenants["ha-tinh"], roles=("province_admin",))
    ha_tinh = signed_in(app, "ha-tinh", other)
    before = _unit_filter(nam_dinh, "nam-dinh")
    assert "Xã Mỹ Hà" in before and "Xã Mỹ Hà" not in _unit_filter(ha_tinh, "ha-tinh")

    directory = tmp_path / "provinces"
    directory.mkdir()
    source = (PROVINCES_DIR / "nam-dinh.toml").read_text(encoding="utf-8")
    added = '\n[[units]]\ncode = "99901"\nname = "Xã Bộ Nhớ Đệm"\nkind = "commune"\nparent = "358"\nsample = true\n'
    (directory / "nam-dinh.toml").write_text(source + added, encoding="utf-8")
    try:
        with app.app_context(), acting_as(Actor("system", None, "test")):
            (report,) = sync_all(directory)
            assert report.error is None
            db.session.commit()
        assert _unit_filter(nam_dinh, "nam-dinh").count("Xã Bộ Nhớ Đệm") == 1
        assert "Xã Bộ Nhớ Đệm" not in _unit_filter(ha_tinh, "ha-tinh")
    finally:
        shutil.copy(PROVINCES_DIR / "nam-dinh.toml", directory / "nam-dinh.toml")
        with app.app_context(), acting_as(Actor("system", None, "test")):
            sync_all(directory)
            db.session.commit()
    assert "Xã Bộ Nhớ Đệm" not in _unit_filter(nam_dinh, "nam-dinh")


def _menu_links(client, slug):
    page = client.get(f"/{slug}/account").get_data(as_text=True)
    nav = page[page.index('class="mainnav"') : page.index("</nav>")]
    return [part.split('"', 1)[0] for part in nav.split('href="')[1:]]


def test_menus_cached_by_roles_and_province(app, tenants):
    _u, admin = create_user(app, tenants["bac-kan"], roles=("province_admin",))
    _u, member = create_user(app, tenants["bac-kan"], roles=("council_member",))
    _u, other_admin = create_user(app, tenants["ha-tinh"], roles=("province_admin",))
    admin_links = _menu_links(signed_in(app, "bac-kan", admin), "bac-kan")
    member_links = _menu_links(signed_in(app, "bac-kan", member), "bac-kan")
    other_links = _menu_links(signed_in(app, "ha-tinh", other_admin), "ha-tinh")
    assert admin_links and member_links and set(member_links) < set(admin_links)
    assert other_links == [link.replace("/bac-kan/", "/ha-tinh/") for link in admin_links]
    assert all(link.startswith("/ha-tinh/") for link in other_links)


def test_sessions_slide_without_a_write_on_every_request(app, tenants, monkeypatch):
    _uid, email = create_user(app, tenants["bac-kan"], roles=("province_officer",))
    client = signed_in(app, "bac-kan", email)
    redis = app.config["SESSION_REDIS"]
    [key] = [k for k in redis.keys(app.config["SESSION_KEY_PREFIX"] + "*") if redis.ttl(k) > 0 and _is(client, k, app)]
    for _ in range(2):  # the first pages after login store the CSRF token, then the refresh stamp
        assert client.get("/bac-kan/account").status_code == 200
    redis.expire(key, 1000)  # as if time had passed since the last write
    second = client.get("/bac-kan/account")
    assert "Set-Cookie" not in second.headers and redis.ttl(key) <= 1000
    later = time.time() + sessions.REFRESH_AFTER + 1
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    third = client.get("/bac-kan/account")
    assert "ocop_session=" in third.headers["Set-Cookie"]
    assert redis.ttl(key) > 1000  # the 8 hours start again


def _is(client, key: bytes, app) -> bool:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return cookie is not None and key.decode().endswith(cookie.value.split(".")[0])


def test_a_connection_that_died_while_idle_is_replaced(app, tenants, services, monkeypatch):
    from app.core import pool

    _uid, email = create_user(app, tenants["bac-kan"], roles=("province_officer",))
    client = signed_in(app, "bac-kan", email)
    with app.app_context():
        db.engine.dispose()  # from here on the pool holds one connection: this one
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        db.session.remove()
    with psycopg.connect(services["ADMIN_DATABASE_URL"], autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0] is True
    monkeypatch.setattr(pool, "IDLE_PING_AFTER", 0.0)  # it has been idle long enough to be checked
    assert client.get("/bac-kan/account").status_code == 200
    with app.app_context():
        assert db.session.execute(text("SELECT pg_backend_pid()")).scalar() != pid
        db.session.remove()
