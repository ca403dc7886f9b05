"""Signing in: passwords, throttling, CSRF, session rotation, security headers, invitations."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.auth.models import User
from app.auth.passwords import password_problems
from app.extensions import db
from tenants.context import tenant_scope
from tests.conftest import PASSWORD, create_user, csrf_token, login, unique_email


def test_officer_signs_in_and_lands_on_the_dashboard(app, tenants):
    _uid, email = create_user(app, tenants["bac-giang"])
    client = app.test_client()
    response = login(client, "/bac-giang/login", email)
    assert response.status_code == 302 and response.headers["Location"] == "/bac-giang/"
    page = client.get("/bac-giang/").get_data(as_text=True)
    assert "Tổng quan chương trình OCOP" in page and "Bắc Giang" in page


def test_email_is_matched_case_and_normalisation_insensitively(app, tenants):
    _uid, email = create_user(app, tenants["bac-giang"])
    client = app.test_client()
    assert login(client, "/bac-giang/login", "  " + email.upper()).status_code == 302


def test_wrong_password_is_refused_with_a_message(app, tenants):
    _uid, email = create_user(app, tenants["bac-giang"])
    client = app.test_client()
    response = login(client, "/bac-giang/login", email, "wrong-password-1")
    assert response.status_code == 401
    assert "Email hoặc mật khẩu không đúng." in response.get_data(as_text=True)


def test_user_of_one_province_cannot_sign_in_to_another(app, tenants):
    _uid, email = create_user(app, tenants["bac-giang"])
    client = app.test_client()
    assert login(client, "/ha-tinh/login", email).status_code == 401


def test_post_without_csrf_token_is_refused(app, tenants):
    _uid, email = create_user(app, tenants["bac-giang"])
    client = app.test_client()
    response = client.post("/bac-giang/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 400
    assert "biểu mẫu không hợp lệ" in response.get_data(as_text=True)
    # Also when signed in: a state-changing form without its token does nothing.
    assert login(client, "/bac-giang/login", email).status_code == 302
    assert client.post("/bac-giang/logout").status_code == 400
    assert client.get("/bac-giang/").status_code == 200


def test_eleventh_wrong_password_is_throttled(app, tenants):
    _uid, email = create_user(app, tenants["bac-giang"])
    client = app.test_client()
    for attempt in range(10):
        assert login(client, "/bac-giang/login", email, f"wrong-{attempt}-password").status_code == 401
    throttled = login(client, "/bac-giang/login", email, "wrong-11-password")
    assert throttled.status_code == 429
    assert "Quá nhiều lần thử" in throttled.get_data(as_text=True)
    # Even the right password is refused until the window passes; other accounts are unaffected.
    assert login(client, "/bac-giang/login", email).status_code == 429
    _uid2, other = create_user(app, tenants["bac-giang"])
    assert login(app.test_client(), "/bac-giang/login", other).status_code == 302


def test_throttle_is_shared_across_processes(app_env, app, tenants):
    """Two app instances (as two web processes) count failures in the same Redis."""
    from tests.conftest import make_app

    other_process = make_app(app_env)
    _uid, email = create_user(app, tenants["bac-giang"])
    for attempt in range(5):
        assert login(app.test_client(), "/bac-giang/login", email, f"wrong-a{attempt}1").status_code == 401
        assert login(other_process.test_client(), "/bac-giang/login", email, f"wrong-b{attempt}1").status_code == 401
    assert login(app.test_client(), "/bac-giang/login", email, "wrong-c1").status_code == 429


def _session_cookie(client):
    cookie = client.get_cookie("ocop_session")
    return cookie.value if cookie else None


def test_session_id_is_rotated_at_login_and_old_one_dies(app, tenants):
    _uid, email = create_user(app, tenants["bac-giang"])
    client = app.test_client()
    csrf_token(client, "/bac-giang/login")
    before = _session_cookie(client)
    assert before
    assert login(client, "/bac-giang/login", email).status_code == 302
    after = _session_cookie(client)
    assert after and after != before
    # The pre-login session id does not carry the login.
    attacker = app.test_client()
    attacker.set_cookie("ocop_session", before)
    assert attacker.get("/bac-giang/").status_code == 302
    # Logging out ends the session server-side: a copied cookie stops working too.
    stolen = app.test_client()
    stolen.set_cookie("ocop_session", after)
    assert stolen.get("/bac-giang/").status_code == 200
    client.post("/bac-giang/logout", data={"csrf_token": csrf_token(client, "/bac-giang/account")})
    assert stolen.get("/bac-giang/").status_code == 302


def test_security_headers_and_cookie_flags(app, tenants):
    client = app.test_client()
    response = client.get("/bac-giang/login")
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    # HSTS is only meaningful (and only sent) over HTTPS, i.e. behind the production proxy.
    https = client.get("/bac-giang/login", base_url="https://localhost")
    assert "max-age=31536000" in https.headers["Strict-Transport-Security"]
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_config_marks_cookies_secure(app_env, monkeypatch):
    from tests.conftest import make_app

    production = make_app(app_env, SESSION_COOKIE_SECURE=True)
    response = production.test_client().get("/bac-giang/login", base_url="https://localhost")
    assert "Secure" in response.headers["Set-Cookie"]


def test_unknown_error_shows_generic_page(app_env):
    from tests.conftest import make_app

    app = make_app(app_env, PROPAGATE_EXCEPTIONS=False, TESTING=False)

    @app.route("/boom-for-test")
    def boom():
        raise RuntimeError("secret detail")

    response = app.test_client().get("/boom-for-test")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Đã có lỗi xảy ra" in body and "secret detail" not in body


def test_password_rules():
    assert password_problems("short1", email="a@b.vn")
    assert password_problems("onlyletterslong", email="a@b.vn")
    assert password_problems("1234567890", email="a@b.vn")
    assert password_problems("nguyenvan2026x", email="nguyenvan@b.vn")
    assert password_problems("Lục-Ngạn-vải-2026", email="a@b.vn") == []


def test_invitation_flow(app, tenants, officer_login):
    admin, _uid, _email = officer_login("bac-giang", roles=("province_admin",))
    email = unique_email("moi")
    token = csrf_token(admin, "/bac-giang/users/new")
    response = admin.post(
        "/bac-giang/users/new",
        data={
            "csrf_token": token,
            "full_name": "Trần Thị Mời",
            "email": email,
            "roles": ["commune_officer"],
            "unit_id": "0",
            "active": "y",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    link = re.search(r'data-testid="invite-link">([^<]+)<', page).group(1)
    path = link.replace("http://localhost", "")
    invited = app.test_client()
    token = csrf_token(invited, path)
    weak = invited.post(path, data={"csrf_token": token, "password": "abc", "confirm": "abc"})
    assert weak.status_code == 200 and "ít nhất 10 ký tự" in weak.get_data(as_text=True)
    good = invited.post(path, data={"csrf_token": token, "password": "Vai-thieu-2026", "confirm": "Vai-thieu-2026"})
    assert good.status_code == 302 and invited.get("/bac-giang/").status_code == 200
    # The link works once.
    assert app.test_client().get(path).status_code == 404
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        user = db.session.scalar(select(User).where(User.email == email))
        assert user.roles == ["commune_officer"] and user.invite_token_hash is None


def test_only_province_admins_manage_users(officer_login):
    officer, _uid, _email = officer_login("bac-giang")
    assert officer.get("/bac-giang/users/").status_code == 403
    assert officer.get("/bac-giang/audit/").status_code == 403


def test_admin_cannot_lock_themselves_out(officer_login):
    admin, user_id, _email = officer_login("bac-giang", roles=("province_admin",))
    token = csrf_token(admin, f"/bac-giang/users/{user_id}/edit")
    response = admin.post(
        f"/bac-giang/users/{user_id}/edit",
        data={
            "csrf_token": token,
            "full_name": "Tự khóa",
            "roles": ["province_officer"],
            "unit_id": "0",
        },
    )
    assert response.status_code == 200
    assert admin.get("/bac-giang/users/").status_code == 200


def test_deactivated_user_is_signed_out_everywhere(app, tenants, officer_login):
    admin, _uid, _email = officer_login("bac-giang", roles=("province_admin",))
    officer, officer_id, _officer_email = officer_login("bac-giang")
    assert officer.get("/bac-giang/").status_code == 200
    token = csrf_token(admin, f"/bac-giang/users/{officer_id}/edit")
    response = admin.post(
        f"/bac-giang/users/{officer_id}/edit",
        data={
            "csrf_token": token,
            "full_name": "Người bị khóa",
            "roles": ["province_officer"],
            "unit_id": "0",
        },
    )
    assert response.status_code == 302
    assert officer.get("/bac-giang/").status_code == 302


def test_user_search_ignores_diacritics(app, tenants, officer_login):
    create_user(app, tenants["bac-giang"], full_name="Hoàng Thị Lụa")
    admin, _uid, _email = officer_login("bac-giang", roles=("province_admin",))
    page = admin.get("/bac-giang/users/?q=hoang+thi+lua").get_data(as_text=True)
    assert "Hoàng Thị Lụa" in page
    page = admin.get("/bac-giang/users/?q=%C4%91%C3%A2y+kh%C3%B4ng+c%C3%B3").get_data(as_text=True)
    assert "Hoàng Thị Lụa" not in page


def test_users_export_to_excel(app, tenants, officer_login):
    from io import BytesIO

    from openpyxl import load_workbook

    create_user(app, tenants["bac-giang"], full_name="Đặng Văn Xuất")
    admin, _uid, _email = officer_login("bac-giang", roles=("province_admin",))
    response = admin.get("/bac-giang/users/export.xlsx")
    assert response.status_code == 200
    rows = list(load_workbook(BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0][0] == "Họ và tên"
    assert any(row[0] == "Đặng Văn Xuất" for row in rows[1:])
    with app.app_context(), tenant_scope(tenants["ha-tinh"]):
        ha_tinh_emails = set(db.session.scalars(select(User.email)))
    assert not ha_tinh_emails & {row[1] for row in rows[1:]}
