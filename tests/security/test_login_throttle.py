"""Issue 12, item 9: wrong passwords slow the guesser, never lock the owner out.

Each client below has its own address (REMOTE_ADDR), as different machines would."""

from __future__ import annotations

import itertools

from redis import Redis

from tests.conftest import create_account, csrf_token
from tests.factories import PASSWORD, user_of_role

_addresses = (f"203.0.113.{n}" for n in itertools.count(1))


def _client(app, address=None):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address or next(_addresses)
    return client


def _login(client, url, email, password=PASSWORD):
    token = csrf_token(client, url)
    return client.post(url, data={"csrf_token": token, "email": email, "password": password})


def test_ten_wrong_passwords_do_not_lock_the_owner_out(app, tenants):
    _user_id, email = user_of_role(app, tenants["bac-giang"], "province_officer")
    attacker = _client(app)
    for attempt in range(10):
        assert _login(attacker, "/bac-giang/login", email, f"wrong-{attempt}").status_code == 401
    refused = _login(attacker, "/bac-giang/login", email)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    # The owner, from their own address, with the right password: in.
    assert _login(_client(app), "/bac-giang/login", email).status_code == 302


def test_many_addresses_slow_an_account_down_but_the_owner_still_gets_in(app, tenants):
    _user_id, email = user_of_role(app, tenants["bac-giang"], "province_officer")
    soft = app.config["LOGIN_ACCOUNT_SOFT_FAILURES"]
    for attempt in range(soft):  # a botnet: one try per address
        assert _login(_client(app), "/bac-giang/login", email, f"wrong-{attempt}").status_code == 401
    assert _login(_client(app), "/bac-giang/login", email, "wrong-again").status_code == 401
    delayed = _login(_client(app), "/bac-giang/login", email)
    assert delayed.status_code == 429 and 0 < int(delayed.headers["Retry-After"]) <= 2
    # The delay is seconds, not the window: once it has passed (expired here) the owner gets in.
    redis = Redis.from_url(app.config["REDIS_URL"])
    prefix = app.config["RATELIMIT_KEY_PREFIX"]
    assert redis.delete(f"{prefix}:login:account-wait:bac-giang:{email}") == 1
    assert _login(_client(app), "/bac-giang/login", email).status_code == 302


def test_one_address_budget_across_every_login_page_slows_but_never_refuses_for_good(app, tenants):
    address = next(_addresses)
    limit = app.config["LOGIN_ADDRESS_FAILURES"]
    _user_id, email = user_of_role(app, tenants["ha-tinh"], "province_officer")
    _account_id, national = create_account(app, "national_viewer")
    pages = ["/bac-giang/login", "/ha-tinh/login", "/national/login", "/platform/login"]
    client = _client(app, address)
    for attempt in range(limit + 1):  # wrong guesses at many accounts, spread over every login page
        page = pages[attempt % len(pages)]
        assert _login(client, page, f"guess-{attempt}@example.vn", "wrong").status_code == 401, attempt
    # The budget is shared: another page, another account, the right password — this address waits.
    delayed = _login(client, "/national/login", national)
    assert delayed.status_code == 429
    assert 0 < int(delayed.headers["Retry-After"]) <= app.config["LOGIN_ADDRESS_DELAY_SECONDS"]
    assert _login(client, "/ha-tinh/login", email).status_code == 429
    # After the delay (expired here) a correct login passes, though the address is still over its limit.
    redis = Redis.from_url(app.config["REDIS_URL"])
    prefix = app.config["RATELIMIT_KEY_PREFIX"]
    assert redis.delete(f"{prefix}:login:address-wait:{address}") == 1
    assert _login(client, "/ha-tinh/login", email).status_code == 302
    assert int(redis.get(f"{prefix}:login:address:{address}")) == limit + 1
