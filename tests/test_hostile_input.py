"""Hostile input on every tenant URL: ids too big for the database and NUL bytes in the query string
answer like any bad request (404, 400), never a server error."""

from __future__ import annotations

from tests import factories
from tests.conftest import csrf_token
from tests.test_cross_tenant import PLAIN_VALUES, _url, checked_methods, id_args, tenant_rules

MISSING = 2**62  # fits a bigint, exists nowhere


def test_ids_beyond_bigint_answer_like_missing_ids(app, fresh_tenant):
    tenant_id, slug = fresh_tenant
    _user_id, email = factories.user_of_role(app, tenant_id, "province_admin")
    client = factories.signed_in(app, slug, email)
    token = csrf_token(client, f"/{slug}/account")
    checked = 0
    for rule in tenant_rules(app):
        args = id_args(rule) - {"token"}
        if not args:
            continue
        for method in checked_methods(rule):
            data = {"csrf_token": token} if method == "POST" else None
            answers = []
            for value in (MISSING, 2**63, 10**20):
                url = _url(rule, {"tenant_slug": slug, **PLAIN_VALUES, **dict.fromkeys(args, value)})
                answers.append(client.open(url, method=method, data=data).status_code)
            assert answers == [404, 404, 404], f"{method} {rule.rule}: {answers}"
            checked += 1
    assert checked > 20


def test_nul_in_the_query_string_is_a_bad_request_on_every_page(app, fresh_tenant):
    tenant_id, slug = fresh_tenant
    _user_id, email = factories.user_of_role(app, tenant_id, "province_admin")
    client = factories.signed_in(app, slug, email)
    query = "q=a%00b&kind=%00&on=%00&status=%00&unit_id=1%00"
    checked = 0
    for rule in tenant_rules(app):
        if set(rule.arguments) - {"tenant_slug"} or "GET" not in rule.methods:
            continue
        url = _url(rule, {"tenant_slug": slug})
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, f"{url}: {response.status_code}"
        checked += 1
    assert checked > 20
    page = client.get(f"/{slug}/certificates?q=%00").get_data(as_text=True)
    assert "ký tự NUL" in page
    client.post(f"/{slug}/lang/en", data={"csrf_token": csrf_token(client, f"/{slug}/account"), "next": "/"})
    assert "NUL character" in client.get(f"/{slug}/products?q=%00").get_data(as_text=True)
