"""Issue 12, item 6: the web role reads no national/platform password hash and writes no account row.

Logins, rehashing, password and language changes go through the `auth.account_*` functions (migration
0019); these tests connect as the web role itself (DATABASE_URL) to try what it must not do, and drive
the pages to show that every account flow still works.
"""

from __future__ import annotations

import re

import psycopg
import pytest
from argon2 import PasswordHasher
from psycopg import errors
from sqlalchemy import event

from app.auth import passwords
from app.auth import services as auth
from app.auth.models import Account
from app.extensions import db
from tests.conftest import PASSWORD, create_account, csrf_token, login, unique_email

NEW_PASSWORD = "Doi-Mat-Khau-2027"
SETTINGS = re.compile(r"^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{22}$")


def _web(app_env):
    return psycopg.connect(app_env["DATABASE_URL"], autocommit=False)


def _owner(app_env):
    return psycopg.connect(app_env["MIGRATION_DATABASE_URL"], autocommit=True)


def _stored(app_env, account_id: int) -> tuple[str, int, str | None, object]:
    """(password_hash, session_version, locale, last_login_at), read as the owner."""
    with _owner(app_env) as owner:
        return owner.execute(
            "SELECT password_hash, session_version, locale, last_login_at FROM accounts WHERE id = %s", [account_id]
        ).fetchone()


def _salt(cur, email: str) -> tuple[str, int]:
    defaults, hash_len = passwords.default_settings()
    cur.execute("SELECT settings, hash_len FROM auth.account_salt(%s, %s, %s)", [email, defaults, hash_len])
    return cur.fetchone()


# --- What the web role may not do -------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT password_hash FROM accounts",
        "SELECT * FROM accounts",
        "SELECT count(*) FROM accounts WHERE password_hash LIKE '$argon2%%'",
        "UPDATE accounts SET password_hash = 'x'",
        "UPDATE accounts SET session_version = session_version + 1",
        "UPDATE accounts SET locale = 'en'",
        "UPDATE accounts SET active = false",
        "UPDATE accounts SET full_name = 'x'",
        "UPDATE accounts SET last_login_at = now()",
        "INSERT INTO accounts (email, full_name, role, password_hash, active, session_version) "
        "VALUES ('intruder@example.vn', 'x', 'platform_admin', 'x', true, 1)",
        "DELETE FROM accounts",
        "SELECT * FROM auth.fake_salt_key",
    ],
)
def test_the_web_role_cannot_read_hashes_or_write_accounts(app_env, app, statement):
    create_account(app, "platform_admin")  # at least one row to read or change
    with _web(app_env) as web, web.cursor() as cur:
        with pytest.raises(errors.InsufficientPrivilege):
            cur.execute(statement)


def test_the_web_role_reads_the_non_secret_columns(app_env, app):
    account_id, email = create_account(app, "national_viewer")
    with _web(app_env) as web, web.cursor() as cur:
        cur.execute(
            "SELECT email, full_name, role, locale, active, session_version, last_login_at, created_at "
            "FROM accounts WHERE id = %s",
            [account_id],
        )
        assert cur.fetchone()[:3] == (email, "Tài khoản thử", "national_viewer")


def test_the_orm_never_loads_an_accounts_hash(app):
    account_id, _email = create_account(app, "national_viewer")
    with app.app_context():
        account = db.session.get(Account, account_id)
        assert account.is_active
        with pytest.raises(Exception, match="password_hash"):  # raiseload: never a silent query
            _ = account.password_hash
        db.session.rollback()


def test_the_salt_is_the_stored_hash_without_its_digest(app_env, app):
    account_id, email = create_account(app, "platform_admin")
    stored = _stored(app_env, account_id)[0]
    with _web(app_env) as web, web.cursor() as cur:
        settings, hash_len = _salt(cur, email)
    assert stored == f"{settings}${stored.rsplit('$', 1)[1]}" and hash_len == 32
    assert stored.rsplit("$", 1)[1] not in settings


def test_an_unknown_email_gets_a_stable_fake_salt_of_the_same_shape(app_env, app):
    _account_id, email = create_account(app, "platform_admin")
    unknown, other = unique_email("nobody"), unique_email("nobody")
    with _web(app_env) as web, web.cursor() as cur:
        real = _salt(cur, email)
        fake = _salt(cur, unknown)
        assert fake == _salt(cur, unknown)  # the same on every call, as a real account's
        assert _salt(cur, other)[0] != fake[0]  # and one of its own per email
    assert SETTINGS.match(real[0]) and SETTINGS.match(fake[0])
    assert real[0].rsplit("$", 1)[0] == fake[0].rsplit("$", 1)[0] and real[1] == fake[1] == 32


def test_no_function_sets_another_accounts_password_without_its_current_one(app_env, app):
    victim_id, victim_email = create_account(app, "platform_admin")
    before = _stored(app_env, victim_id)
    attacker_hash = passwords.hash_password("Attacker-2026")
    with _web(app_env) as web, web.cursor() as cur:
        settings, hash_len = _salt(cur, victim_email)
        for guess in ("wrong-password-1", "", attacker_hash):
            candidate = passwords.candidate_hash(guess, settings, hash_len)
            cur.execute("SELECT auth.account_password_change(%s, %s, %s)", [victim_id, candidate, attacker_hash])
            assert cur.fetchone()[0] is None
            cur.execute("SELECT auth.account_rehash(%s, %s, %s)", [victim_id, candidate, attacker_hash])
            assert cur.fetchone()[0] is False
            cur.execute("SELECT auth.account_login(%s, %s, 'platform_admin', now())", [victim_email, candidate])
            assert cur.fetchone()[0] is None
        # Not even with a hash as "candidate" or a non-argon2 "new hash".
        cur.execute("SELECT auth.account_password_change(%s, %s, %s)", [victim_id, settings, attacker_hash])
        assert cur.fetchone()[0] is None
        with pytest.raises(errors.InvalidParameterValue):
            cur.execute("SELECT auth.account_password_change(%s, %s, 'plain')", [victim_id, settings])
        web.commit()
    assert _stored(app_env, victim_id) == before
    assert login(app.test_client(), "/platform/login", victim_email).status_code == 302
    assert login(app.test_client(), "/platform/login", victim_email, "Attacker-2026").status_code == 401


def test_the_functions_refuse_malformed_values(app_env, app):
    account_id, email = create_account(app, "national_viewer")
    cases = [
        ("SELECT auth.account_locale_set(%s, %s)", [account_id, "en'; --"]),
        ("SELECT auth.account_rehash(%s, %s, %s)", [account_id, "x", "not-a-hash"]),
        ("SELECT * FROM auth.account_salt(%s, %s, %s)", [unique_email("nobody"), "$md5$", 32]),
        ("SELECT * FROM auth.account_salt(%s, %s, %s)", [unique_email("nobody"), "$argon2id$v=19$m=8,t=1,p=1", 4]),
    ]
    with _web(app_env) as web, web.cursor() as cur:
        for statement, params in cases:
            with pytest.raises(errors.InvalidParameterValue):
                cur.execute(statement, params)
            web.rollback()
        cur.execute("SELECT auth.account_locale_set(%s, 'en')", [account_id])
        assert cur.fetchone()[0] is True
        web.commit()
    assert _stored(app_env, account_id)[2] == "en"


def test_only_the_web_role_may_call_the_functions(app_env):
    with psycopg.connect(app_env["NATIONAL_DATABASE_URL"]) as national, national.cursor() as cur:
        with pytest.raises(errors.InsufficientPrivilege):
            cur.execute("SELECT auth.account_login('x@example.vn', 'x', 'national_viewer', now())")


# --- Every flow still works -------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "area"), [("national_viewer", "national"), ("platform_admin", "platform")])
def test_login_records_the_moment_and_a_wrong_password_changes_nothing(app_env, app, role, area):
    account_id, email = create_account(app, role)
    assert login(app.test_client(), f"/{area}/login", email, "Wrong-Password-1").status_code == 401
    assert _stored(app_env, account_id)[3] is None
    client = app.test_client()
    assert login(client, f"/{area}/login", email).status_code == 302
    assert _stored(app_env, account_id)[3] is not None
    assert client.get(f"/{area}/").status_code == 200


def test_unknown_email_and_wrong_password_answer_alike_and_do_the_same_work(app, monkeypatch):
    _account_id, email = create_account(app, "national_viewer")
    hashed, statements = [], []
    real_candidate = passwords.candidate_hash
    monkeypatch.setattr(auth, "candidate_hash", lambda *a: hashed.append(1) or real_candidate(*a))

    def record(conn, cursor, statement, parameters, context, executemany):
        if "auth." in statement:
            statements.append(re.sub(r"\s+", " ", statement))

    with app.app_context():
        engine = db.engine
    answers = {}
    event.listen(engine, "before_cursor_execute", record)
    try:
        for case, who in (("wrong", email), ("unknown", unique_email("nobody"))):
            hashed.clear(), statements.clear()
            client = app.test_client()
            token = csrf_token(client, "/national/login")
            response = client.post(
                "/national/login", data={"csrf_token": token, "email": who, "password": "Wrong-Password-1"}
            )
            body = response.get_data(as_text=True).replace(token, "").replace(who, "")
            answers[case] = (response.status_code, body, len(hashed), list(statements))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert answers["wrong"][0] == answers["unknown"][0] == 401
    assert answers["wrong"][1] == answers["unknown"][1]
    assert answers["wrong"][2] == answers["unknown"][2] == 1  # one argon2 hash each
    assert answers["wrong"][3] == answers["unknown"][3] and len(answers["wrong"][3]) == 2  # salt, then login


def test_an_old_hash_is_replaced_at_login_without_ending_sessions(app_env, app):
    email = unique_email("old")
    old = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(PASSWORD)
    with _owner(app_env) as owner:
        account_id = owner.execute(
            "INSERT INTO accounts (email, full_name, role, password_hash, active, session_version) "
            "VALUES (%s, 'Tài khoản cũ', 'national_viewer', %s, true, 1) RETURNING id",
            [email, old],
        ).fetchone()[0]
    assert login(app.test_client(), "/national/login", email).status_code == 302
    new_hash, version, _locale, _at = _stored(app_env, account_id)
    assert new_hash != old and ",t=3,p=4$" in new_hash and version == 1
    assert PasswordHasher().verify(new_hash, PASSWORD)
    assert login(app.test_client(), "/national/login", email).status_code == 302  # and again, with the new one
    assert _stored(app_env, account_id)[0] == new_hash  # no rehash when nothing changed


def test_password_change_needs_the_current_password_and_ends_other_sessions(app_env, app):
    account_id, email = create_account(app, "platform_admin")
    other, client = app.test_client(), app.test_client()
    assert login(other, "/platform/login", email).status_code == 302
    assert login(client, "/platform/login", email).status_code == 302
    page = client.get("/platform/account")
    assert page.status_code == 200 and email in page.get_data(as_text=True)
    token = csrf_token(client, "/platform/account")
    form = {"csrf_token": token, "current": "Wrong-Password-1", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    refused = client.post("/platform/account", data=form)
    assert refused.status_code == 200 and "Mật khẩu hiện tại không đúng." in refused.get_data(as_text=True)
    assert _stored(app_env, account_id)[1] == 1
    weak = client.post("/platform/account", data={**form, "current": PASSWORD, "password": "abc", "confirm": "abc"})
    assert "ít nhất 10 ký tự" in weak.get_data(as_text=True) and _stored(app_env, account_id)[1] == 1
    done = client.post("/platform/account", data={**form, "current": PASSWORD})
    assert done.status_code == 302 and _stored(app_env, account_id)[1] == 2
    assert client.get("/platform/").status_code == 200  # this session goes on (rotated)
    assert other.get("/platform/").status_code == 302  # the other one ended
    assert login(app.test_client(), "/platform/login", email).status_code == 401
    assert login(app.test_client(), "/platform/login", email, NEW_PASSWORD).status_code == 302


def test_password_change_service_refuses_a_wrong_current_password(app_env, app):
    account_id, _email = create_account(app, "national_viewer")
    with app.app_context():
        account = db.session.get(Account, account_id)
        with pytest.raises(auth.WrongCurrentPassword):
            auth.account_password_change(account, "Wrong-Password-1", NEW_PASSWORD)
        auth.account_password_change(account, PASSWORD, NEW_PASSWORD)
        assert account.session_version == 2 and not db.session.dirty
        db.session.commit()
    assert _stored(app_env, account_id)[1] == 2


def test_the_language_follows_the_account(app_env, app):
    account_id, email = create_account(app, "national_viewer")
    client = app.test_client()
    assert login(client, "/national/login", email).status_code == 302
    token = csrf_token(client, "/national/")
    response = client.post("/national/lang/en", data={"csrf_token": token, "next": "/national/"})
    assert response.status_code == 302 and _stored(app_env, account_id)[2] == "en"
    # A new session (no language in it) speaks the account's language.
    fresh = app.test_client()
    assert login(fresh, "/national/login", email).status_code == 302
    assert '<html lang="en"' in fresh.get("/national/").get_data(as_text=True)


def test_national_logins_are_throttled_like_every_other(app):
    _account_id, email = create_account(app, "national_viewer")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "198.51.100.77"
    for attempt in range(10):
        assert login(client, "/national/login", email, f"Wrong-{attempt}").status_code == 401
    assert login(client, "/national/login", email).status_code == 429


# --- Creating accounts --------------------------------------------------------------------------------


def test_accounts_are_created_by_the_owner_from_the_command_line(app_env, app):
    email = unique_email("cli")
    runner = app.test_cli_runner()
    args = ["accounts", "create", email, "--name", "Nguyễn Văn A", "--role", "national_viewer"]
    result = runner.invoke(args=[*args, "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert login(app.test_client(), "/national/login", email).status_code == 302
    again = runner.invoke(args=[*args, "--password", PASSWORD])
    assert again.exit_code == 1 and "đã có tài khoản" in again.output
    weak = runner.invoke(
        args=["accounts", "create", unique_email("cli"), "--name", "B", "--role", "platform_admin"], input="abc\nabc\n"
    )
    assert weak.exit_code == 1 and "10" in weak.output


def test_the_web_role_cannot_create_an_account(app_env, app):
    with app.app_context(), pytest.raises(errors.InsufficientPrivilege):
        auth.account_create(
            email=unique_email("x"),
            full_name="X",
            role="platform_admin",
            password=PASSWORD,
            owner_url=app_env["DATABASE_URL"],  # the web role's own connection
        )
