"""Issue 12, item 2: after a login (tenant, national, platform) and a language switch, `next` never
leads off-site, and a newline in it is not a server error."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest

from app.core.redirects import safe_next_path
from tests.conftest import create_account, csrf_token, login
from tests.factories import user_of_role

HOSTILE = [
    "/\t/evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "/\r\n/evil.example",
    "/\n/x",
    "https://evil.example/",
    "javascript:alert(1)",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "/%09/evil.example",
    "/%252F%252Fevil.example",
    " //evil.example",
    "evil.example",
]


def _stays_on_site(location: str) -> bool:
    parts = urlsplit(location)
    if parts.netloc and parts.netloc != "localhost":
        return False
    path = location if not parts.netloc else location.split("localhost", 1)[1]
    return path.startswith("/") and not path.startswith("//") and "\\" not in path and "\t" not in path


@pytest.mark.parametrize("target", HOSTILE)
def test_the_helper_refuses_every_off_site_target(target):
    assert safe_next_path(target, "/home") == "/home"


def test_the_helper_keeps_local_paths():
    for target in ("/bac-giang/products?q=m%E1%BA%ADt+ong", "/bac-giang/sản-phẩm", "/national/"):
        assert safe_next_path(target, "/home") == target


def _areas(app, tenants):
    _user_id, email = user_of_role(app, tenants["bac-giang"], "province_officer")
    yield "/bac-giang/login", email, "/bac-giang/account"
    for role, area in (("national_viewer", "national"), ("platform_admin", "platform")):
        _account_id, account_email = create_account(app, role)
        yield f"/{area}/login", account_email, f"/{area}/login"


def test_no_login_redirects_off_site(app, tenants):
    from tests.factories import PASSWORD

    checked = 0
    for login_url, email, _page in _areas(app, tenants):
        for target in HOSTILE:
            client = app.test_client()
            token = csrf_token(client, login_url)
            response = client.post(
                f"{login_url}?next={quote(target, safe='')}",
                data={"csrf_token": token, "email": email, "password": PASSWORD},
            )
            assert response.status_code == 302, (login_url, target, response.status_code)
            assert _stays_on_site(response.headers["Location"]), (login_url, target, response.headers["Location"])
            checked += 1
    assert checked == 3 * len(HOSTILE)


def test_no_language_switch_redirects_off_site(app, tenants):
    _user_id, email = user_of_role(app, tenants["bac-giang"], "province_officer")
    client = app.test_client()
    assert login(client, "/bac-giang/login", email).status_code == 302
    checked = 0
    for lang_url, page in (("/bac-giang/lang/vi", "/bac-giang/account"), ("/lang/vi", "/")):
        token = csrf_token(client, page)
        for target in HOSTILE:
            response = client.post(lang_url, data={"csrf_token": token, "next": target})
            assert response.status_code == 302, (lang_url, target, response.status_code)
            assert _stays_on_site(response.headers["Location"]), (lang_url, target, response.headers["Location"])
            checked += 1
    for area, role in (("national", "national_viewer"), ("platform", "platform_admin")):
        _id, account_email = create_account(app, role)
        account_client = app.test_client()
        assert login(account_client, f"/{area}/login", account_email).status_code == 302
        token = csrf_token(account_client, f"/{area}/login")
        for target in HOSTILE:
            response = account_client.post(f"/{area}/lang/vi", data={"csrf_token": token, "next": target})
            assert response.status_code == 302 and _stays_on_site(response.headers["Location"]), (area, target)
            checked += 1
    assert checked == 4 * len(HOSTILE)
