"""Attacks on the whole-page cache (app/auth/page_cache.py, tenants/page_versions.py): the two problems they found
(a raw non-UTF-8 query, a bell count taken before a delivery committed), then what was tried and found sound."""

from __future__ import annotations

import re

from sqlalchemy import update

from app.auth.models import User
from app.extensions import db
from tenants.context import tenant_scope
from tenants.models import Tenant
from tenants.page_versions import versions_read
from tests import test_page_cache
from tests.factories import signed_in
from tests.test_page_cache import _commit, _get, _kept

province = test_page_cache.province  # the same fixture: a province, a product, an admin

UNREAD = re.compile(r'data-testid="unread-count">(\d+)<')


def _unread(body: str) -> int:
    found = UNREAD.search(body)
    return int(found.group(1)) if found else 0


# Problems found, and fixed.


def test_a_raw_non_utf8_byte_in_the_query_is_not_a_500(app, province):
    """gunicorn hands raw bytes of the request line on (latin-1): `request.full_path` decodes the query string
    as strict UTF-8 in _page_key (UnicodeDecodeError, a 500). Not the cache's alone: with PAGE_CACHE off the
    same request fails the same way in app/core/errors.py's _refuse_nul_in_address (request.args)."""
    _tenant_id, slug, _product_id, _uid, email = province
    client = signed_in(app, slug, email)
    status, _cache, body = _get(client, f"/{slug}/products", environ_overrides={"QUERY_STRING": "q=m\xe1t"})
    assert status == 400 and body == "Địa chỉ trang không phải UTF-8 hợp lệ."


def test_a_bell_count_recounted_before_a_delivery_commits_is_not_kept_for_the_pages_ttl(app, province):
    """The bell's unread count has its own Redis cache (60 s). A page rendered while a delivery is not yet committed
    recounts the old rows; were that count kept on its own, the page rendered after the commit's version move would
    be kept under the *new* version with the stale count, and served for up to PAGE_TTL_SECONDS. The count is kept
    under the page version read before it was taken (tenants/page_versions.kept_under_page_version)."""
    from app.notices.services import notice_create

    tenant_id, slug, _product_id, user_id, email = province
    client = signed_in(app, slug, email)
    home = f"/{slug}/"
    redis = app.extensions["page_versions"]
    unread_key = f"{app.config['RQ_QUEUE_PREFIX']}:notices:unread:{tenant_id}:{user_id}"
    assert _unread(_get(client, home)[2]) == 0
    with app.app_context(), tenant_scope(tenant_id):
        notice_create("certificate_expiry", "attack:bell", "90d", user_ids=[user_id])  # drops the bell's key
        # A request of the same user racing the delivery (another tab, another connection) recounts the
        # committed rows now and keeps 0 for UNREAD_TTL_SECONDS, as inbox_unread_count does. (Simulated: a test
        # client request here would share this app context's session and see the uncommitted rows.)
        version, _ = versions_read(redis, app.config["RQ_QUEUE_PREFIX"], tenant_id)
        redis.set(unread_key, f"{version} 0", ex=60)
        db.session.commit()  # the version moves at checkin
    status, cache, body = _get(client, home)
    assert (status, cache) == (200, "miss") and _unread(body) == 1  # the racing count was of the old version
    status, cache, body = _get(client, home)
    assert (status, cache) == (200, "hit") and _unread(body) == 1


# Tried and found sound.


def test_a_role_removed_is_not_served_the_kept_page(app, province):
    tenant_id, slug, _product_id, user_id, email = province
    url = f"/{slug}/products"
    client = _kept(app, slug, email, url)
    _commit(app, tenant_id, update(User).where(User.id == user_id).values(roles=["producer"]))
    status, cache, _body = _get(client, url)
    assert status != 200 and cache is None


def test_a_province_deactivated_in_its_scope_is_not_served_the_kept_page(app, province):
    tenant_id, slug, _product_id, _uid, email = province
    url = f"/{slug}/"
    client = _kept(app, slug, email, url)
    _commit(app, tenant_id, update(Tenant).where(Tenant.id == tenant_id).values(is_active=False))
    assert _get(client, url)[:2] == (404, None)


def test_a_password_changed_elsewhere_ends_the_kept_pages_of_other_sessions(app, province):
    tenant_id, slug, _product_id, user_id, email = province
    url = f"/{slug}/products"
    client = _kept(app, slug, email, url)
    _commit(app, tenant_id, update(User).where(User.id == user_id).values(session_version=User.session_version + 1))
    assert _get(client, url)[:2] == (302, None)


def test_a_change_made_by_a_tenant_job_moves_the_version(app, province):
    """Jobs run through jobs.wrapper in their province's scope, on the same engine and its events."""
    from app.registry.models import Product
    from jobs.wrapper import tenant_job

    tenant_id, slug, product_id, _uid, email = province

    @tenant_job
    def rename(pid):
        db.session.execute(update(Product).where(Product.id == pid).values(name="Tên từ việc nền"))

    url = f"/{slug}/products/{product_id}"
    client = _kept(app, slug, email, url)
    with app.app_context():
        rename(tenant_id, product_id)
    status, cache, body = _get(client, url)
    assert (status, cache) == (200, "miss") and "Tên từ việc nền" in body


def test_head_and_nul_requests_are_neither_served_nor_kept(app, province):
    _tenant_id, slug, _product_id, _uid, email = province
    client = signed_in(app, slug, email)
    url = f"/{slug}/products"
    assert client.head(url).headers.get("X-Page-Cache") is None
    assert _get(client, url)[:2] == (200, "miss")  # HEAD kept nothing
    assert client.head(url).headers.get("X-Page-Cache") is None
    assert _get(client, f"{url}?q=a%00b")[:2] == (400, None)
    assert _get(client, f"{url}?q=a%00b")[:2] == (400, None)


def test_a_language_switch_in_one_session_follows_the_user_in_the_other(app, province):
    """The locale is the user's (a write: the version moves), so a session still holding lang=vi is not served
    the Vietnamese page kept before the switch."""
    _tenant_id, slug, _product_id, _uid, email = province
    first, second = signed_in(app, slug, email), signed_in(app, slug, email)
    url = f"/{slug}/"
    _get(first, url), _get(second, url)
    assert _get(second, url)[1] == "hit"
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', _get(first, url)[2]).group(1)
    assert first.post(f"/{slug}/lang/en", data={"csrf_token": token, "next": url}).status_code == 302
    status, _cache, body = _get(second, url)
    assert status == 200 and 'lang="en"' in body
