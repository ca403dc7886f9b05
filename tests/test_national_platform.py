"""The national office sees every province at a glance; platform admins manage provinces."""

from __future__ import annotations

import re
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from tenants.context import tenant_scope
from tests.conftest import create_account, create_user, csrf_token, login, unique_email


def _signed_in(app, role: str, area: str):
    _aid, email = create_account(app, role)
    client = app.test_client()
    assert login(client, f"/{area}/login", email).status_code == 302
    return client


def test_national_office_sees_every_province(app):
    client = _signed_in(app, "national_viewer", "national")
    page = client.get("/national/").get_data(as_text=True)
    for name in ("Bắc Giang", "Hà Tĩnh", "Bắc Kạn", "Nam Định"):
        assert name in page
    # Reported figures stay per province with their own date (Bắc Giang 205 in 2022, Nam Định 146 in
    # 2020, …): never added up across dates (892) — the totals come from the certificate records.
    assert not re.search(r">\s*892\s*<", page)  # as a figure (test provinces' hex names may hold the digits)
    assert re.search(r"<td>Nam Định</td><td class=\"num\">146</td><td>31/12/2020</td>", page)
    assert re.search(r'data-testid="national-valid">[\d.]+<', page)
    rows = list(load_workbook(BytesIO(client.get("/national/export.xlsx").data)).active.iter_rows(values_only=True))
    assert {row[0]: row[6] for row in rows[1:]}["Hà Tĩnh"] == 410


def test_national_accounts_cannot_use_tenant_or_platform_pages(app):
    client = _signed_in(app, "national_viewer", "national")
    assert client.get("/bac-giang/").status_code == 302
    assert client.get("/platform/").status_code == 302


def test_platform_account_cannot_sign_in_as_national(app):
    _aid, email = create_account(app, "platform_admin")
    assert login(app.test_client(), "/national/login", email).status_code == 401


def test_platform_admin_adds_a_province_and_invites_its_admin(app):
    client = _signed_in(app, "platform_admin", "platform")
    slug = f"ninh-binh-{unique_email()[5:10]}"
    token = csrf_token(client, "/platform/tenants/new")
    response = client.post(
        "/platform/tenants/new",
        data={
            "csrf_token": token,
            "slug": slug,
            "name": "Ninh Bình",
            "name_en": "Ninh Binh",
            "official_code": "37",
            "standing_agency": "Sở Nông nghiệp và Môi trường",
            "criteria_act": "1489/QĐ-TTg",
        },
    )
    assert response.status_code == 302
    tenant_url = response.headers["Location"]
    admin_email = unique_email("admin")
    token = csrf_token(client, tenant_url)
    page = client.post(
        tenant_url,
        data={"csrf_token": token, "full_name": "Đinh Văn Quản", "email": admin_email},
        follow_redirects=True,
    ).get_data(as_text=True)
    link = re.search(r'data-testid="invite-link">([^<]+)<', page).group(1).replace("http://localhost", "")
    assert link.startswith(f"/{slug}/invite/")
    invited = app.test_client()
    token = csrf_token(invited, link)
    invited.post(link, data={"csrf_token": token, "password": "Ninh-Binh-2026", "confirm": "Ninh-Binh-2026"})
    assert invited.get(f"/{slug}/users/").status_code == 200
    # The invitation was audited inside the new province, attributed to the platform admin.
    audit = invited.get(f"/{slug}/audit/").get_data(as_text=True)
    assert "platform_admin:" in audit


def test_reserved_and_duplicate_slugs_are_refused(app):
    client = _signed_in(app, "platform_admin", "platform")
    for slug, message in (("national", "dùng riêng"), ("bac-giang", "Đã có tỉnh"), ("Bac Giang", "chữ thường")):
        token = csrf_token(client, "/platform/tenants/new")
        response = client.post(
            "/platform/tenants/new",
            data={
                "csrf_token": token,
                "slug": slug,
                "name": "X",
                "name_en": "X",
                "standing_agency": "X",
                "criteria_act": "1489/QĐ-TTg",
            },
        )
        assert response.status_code == 200 and message in response.get_data(as_text=True), slug


def test_missing_tenant_id_in_platform_is_404(app):
    client = _signed_in(app, "platform_admin", "platform")
    assert client.get("/platform/tenants/999999999").status_code == 404


def test_province_admins_do_not_see_each_others_users(app, tenants, officer_login):
    create_user(app, tenants["bac-giang"])
    admin, _uid, _email = officer_login("ha-tinh", roles=("province_admin",))
    page = admin.get("/ha-tinh/users/").get_data(as_text=True)
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        bac_giang_emails = db.session.scalars(select(User.email)).all()
    assert bac_giang_emails and not any(email in page for email in bac_giang_emails)
