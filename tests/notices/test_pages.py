"""The bell and the notices list, the outbox (province admin, platform admin), in both languages, paginated."""

from __future__ import annotations

import re

from app.extensions import db
from app.notices.services import notice_create
from tenants.context import tenant_scope
from tests import factories
from tests.conftest import create_account, csrf_token, login


def _notices(app, tenant_id, user_id, count, prefix="p"):
    with app.app_context(), tenant_scope(tenant_id):
        ids = [
            notice_create(
                "certificate_expiry",
                f"{prefix}:{i}",
                "90d",
                params={"product": f"Sản phẩm {i}", "valid_to": "2027-03-05", "days_left": 90},
                user_ids=[user_id],
            ).id
            for i in range(count)
        ]
        db.session.commit()
        return ids


def _unread(body: str) -> int | None:
    match = re.search(r'data-testid="unread-count">(\d+)<', body)
    return int(match.group(1)) if match else None


def test_the_bell_counts_unread_notices_and_the_list_marks_them_read(app, fresh_tenant, empty_notifications):
    tenant_id, slug = fresh_tenant
    user_id, email = factories.user_of_role(app, tenant_id, "inspector")
    ids = _notices(app, tenant_id, user_id, 25)
    client = factories.signed_in(app, slug, email)
    first = client.get(f"/{slug}/notices/").get_data(as_text=True)
    assert _unread(first) == 25
    assert first.count('data-testid="notice"') == 20 and "Trang 1 / 2" in first
    second = client.get(f"/{slug}/notices/?page=2").get_data(as_text=True)
    assert second.count('data-testid="notice"') == 5
    # A page number past the end, or absurd, shows a real page rather than an error.
    for page in ("99", "99999999999999999999", "-1", "abc", "=1+1"):
        assert client.get(f"/{slug}/notices/?page={page}").status_code == 200
    assert client.get(f"/{slug}/notices/?page=%00").status_code == 400  # the house answer to a NUL byte
    token = csrf_token(client, f"/{slug}/notices/")
    assert client.post(f"/{slug}/notices/{ids[0]}/read", data={"csrf_token": token}).status_code == 302
    assert _unread(client.get(f"/{slug}/notices/").get_data(as_text=True)) == 24
    assert client.post(f"/{slug}/notices/read-all", data={"csrf_token": token}).status_code == 302
    assert _unread(client.get(f"/{slug}/notices/").get_data(as_text=True)) is None


def test_a_notice_of_another_user_cannot_be_marked(app, fresh_tenant, empty_notifications):
    tenant_id, slug = fresh_tenant
    owner_id, _e = factories.user_of_role(app, tenant_id, "inspector")
    [notice_id] = _notices(app, tenant_id, owner_id, 1)
    _u, other = factories.user_of_role(app, tenant_id, "province_officer")
    client = factories.signed_in(app, slug, other)
    token = csrf_token(client, f"/{slug}/notices/")
    assert client.post(f"/{slug}/notices/{notice_id}/read", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/{slug}/notices/{10**12}/read", data={"csrf_token": token}).status_code == 404


def test_english_notices(app, fresh_tenant, empty_notifications):
    tenant_id, slug = fresh_tenant
    user_id, email = factories.user_of_role(app, tenant_id, "inspector")
    _notices(app, tenant_id, user_id, 1)
    client = factories.signed_in(app, slug, email)
    client.post(
        f"/{slug}/lang/en", data={"csrf_token": csrf_token(client, f"/{slug}/notices/"), "next": f"/{slug}/notices/"}
    )
    body = client.get(f"/{slug}/notices/").get_data(as_text=True)
    assert "The OCOP certificate of Sản phẩm 0 expires on 05/03/2027" in body
    assert "Mark all as read" in body


def test_the_outbox_shows_what_would_have_been_sent(app, fresh_tenant, work_notifications, empty_notifications):
    tenant_id, slug = fresh_tenant
    user_id, user_email = factories.user_of_role(app, tenant_id, "inspector")
    _notices(app, tenant_id, user_id, 3, prefix="o")
    work_notifications()
    _u, admin = factories.user_of_role(app, tenant_id, "province_admin")
    client = factories.signed_in(app, slug, admin)
    body = client.get(f"/{slug}/notices/outbox").get_data(as_text=True)
    assert body.count('data-testid="outbox-row"') == 3
    assert user_email in body and "hộp thư thử, không gửi ra ngoài" in body
    assert (
        client.get(f"/{slug}/notices/outbox?status=failed").get_data(as_text=True).count('data-testid="outbox-row"')
        == 0
    )
    # The platform admin reads the same outbox of the province.
    _aid, account_email = create_account(app, "platform_admin")
    platform = app.test_client()
    assert login(platform, "/platform/login", account_email).status_code == 302
    page = platform.get(f"/platform/tenants/{tenant_id}/outbox")
    assert page.status_code == 200
    assert page.get_data(as_text=True).count('data-testid="outbox-row"') == 3
    assert platform.get(f"/platform/tenants/{10**12}/outbox").status_code == 404
