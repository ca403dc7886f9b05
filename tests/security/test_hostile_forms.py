"""Issue 12, item 7: NUL bytes and numbers past bigint in any form field, filter or URL answer 400
(with a message) or 404 for ids — never 500. Every form on every argument-less tenant page is sent."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlencode

from tests.factories import signed_in, user_of_role
from tests.test_cross_tenant import _url, tenant_rules

HUGE = "99999999999999999999999999"


class _Forms(HTMLParser):
    """The forms of a page: (method, action, {name: value})."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, str | None, dict]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(((attrs.get("method") or "get").lower(), attrs.get("action"), {}))
        elif tag in ("input", "select", "textarea") and self.forms and attrs.get("name"):
            if attrs.get("type") in ("submit", "button", "file"):
                return
            self.forms[-1][2].setdefault(attrs["name"], attrs.get("value") or "")


def _forms(html: str):
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def _pages(app, slug):
    for rule in tenant_rules(app):
        if set(rule.arguments) - {"tenant_slug"} or "GET" not in rule.methods:
            continue
        if rule.rule.endswith((".xlsx", ".pdf", "/logout")):
            continue
        yield _url(rule, {"tenant_slug": slug})


def test_nul_and_huge_numbers_in_every_form_never_give_a_server_error(app, fresh_tenant):
    tenant_id, slug = fresh_tenant
    _user_id, email = user_of_role(app, tenant_id, "province_admin", "province_officer")
    client = signed_in(app, slug, email)
    posted = queried = 0
    for page in _pages(app, slug):
        response = client.get(page)
        if response.mimetype != "text/html":  # a download (a report as PDF or Excel) has no form
            continue
        html = response.get_data(as_text=True)
        for method, action, fields in _forms(html):
            target = (action or page).split("#", 1)[0]
            if not target.startswith(f"/{slug}/") or target.endswith(("/logout", "/lang/vi", "/lang/en")):
                continue
            names = [n for n in fields if n != "csrf_token"]
            if not names:
                continue
            for hostile in ("a\x00b", HUGE, "-" + HUGE):
                values = {n: hostile for n in names}
                if method == "post":
                    response = client.post(target, data={**values, "csrf_token": fields.get("csrf_token", "")})
                    posted += 1
                else:
                    response = client.get(f"{target}?{urlencode(values)}")
                    queried += 1
                status = response.status_code
                assert status in (200, 302, 303, 400, 404), f"{method} {target} {hostile!r}: {status}"
                if hostile == "a\x00b" and method == "post":
                    # Refused with the reason: under the field (the form again), on a 400 page, or flashed.
                    if status in (302, 303):
                        body = client.get(response.location).get_data(as_text=True)
                        assert "flash-error" in body, f"{method} {target}: redirected without a reason"
                    else:
                        body = response.get_data(as_text=True)
                        assert "NUL" in body or "ký tự không hợp lệ" in body, f"{method} {target}: {status}, no reason"
                elif hostile == "a\x00b":
                    assert status == 400 and "NUL" in response.get_data(as_text=True), f"{target}: {status}"
    assert posted > 20 and queried > 10, (posted, queried)


def test_nul_in_the_url_path_names_nothing(app, fresh_tenant):
    _tenant_id, slug = fresh_tenant
    client = app.test_client()
    for url in (f"/{slug}%00/login", f"/{slug}/login%00", "/national%00/login", "/verify/abc%00", "/%00/"):
        response = client.get(url)
        assert response.status_code == 404, f"{url}: {response.status_code}"
    assert client.post(f"/{slug}%00/login", data={"email": "a@b.vn"}).status_code == 404
    assert client.get(f"/{slug}/invite/abc%00def").status_code in (400, 404)


def test_ids_and_filters_past_bigint_answer_404_or_400(app, fresh_tenant):
    tenant_id, slug = fresh_tenant
    _user_id, email = user_of_role(app, tenant_id, "province_admin", "province_officer")
    client = signed_in(app, slug, email)
    for url in (f"/{slug}/producers/{HUGE}", f"/{slug}/products/{HUGE}", f"/{slug}/producers/-1"):
        assert client.get(url).status_code == 404, url
    for page in _pages(app, slug):
        query = urlencode(dict.fromkeys(("unit_id", "producer_id", "year", "round_id", "stars", "page", "on"), HUGE))
        status = client.get(f"{page}?{query}").status_code
        assert status in (200, 302, 400, 403), f"{page}: {status}"


def test_nul_in_a_json_body_is_a_bad_request(app, tenants):
    from tests.factories import producer_with_product

    tenant_id = tenants["bac-giang"]
    producer_id, _product = producer_with_product(app, tenant_id)
    _user_id, email = user_of_role(app, tenant_id, "producer", producer_id=producer_id)
    client = signed_in(app, "bac-giang", email)
    from tests.conftest import csrf_token

    token = csrf_token(client, "/bac-giang/account")
    response = client.post(
        "/bac-giang/documents/presign",
        json={
            "requirement": "market_development",
            "filename": "a.pdf",
            "content_type": "application/pdf",
            "size": 10,
            "title": "ti\x00tle",
        },
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 400
