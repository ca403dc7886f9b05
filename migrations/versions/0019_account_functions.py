"""National and platform accounts: the web role reads no password hash and writes no account row.

Revision ID: 0019
Revises: 0018

Until now the web role (web and workers) could SELECT every column of `accounts` (every national and
platform password hash) and UPDATE the hash, so a compromised web process could read them all and set
any account's password. Now:
- the web role keeps SELECT on the non-secret columns only (the session loader reads them), and has no
  INSERT, UPDATE or DELETE on `accounts`;
- what the app writes goes through SECURITY DEFINER functions in schema `auth`, owned by a NOLOGIN role
  of their own (`ocop_accounts`, like 0016's search role) that may read and update just what they need:
  `account_salt` hands out the argon2 parameters and salt of the stored hash (never the digest), or a
  deterministic fake one for an unknown email; the app hashes the typed password with them and
  `account_login` compares the result with the stored hash inside the database; `account_rehash`,
  `account_password_change` (which ends every session) and `account_locale_set` do the rest, the
  first two only with the current password's hash;
- creating an account is an operator's task, done as the owner (`flask accounts create`).
Holds its own SQL.
"""

import os

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

APP_ROLE = os.environ.get("DB_APP_ROLE", "ocop_app")
ACCOUNTS_ROLE = os.environ.get("DB_ACCOUNTS_ROLE", "ocop_accounts")
# 0013's grants, given back by the downgrade.
ACCOUNT_UPDATABLE = "full_name, password_hash, locale, active, session_version, last_login_at"
ACCOUNT_READABLE = "id, email, full_name, role, locale, active, session_version, last_login_at, created_at"

ARGON2_SETTINGS = r"^\$argon2(id|i|d)\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+$"
ARGON2_HASH = r"^\$argon2(id|i|d)\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$"
# The stored hash and the candidate are compared by their digests: equal length, no early exit on a prefix.
SAME_HASH = "sha256(convert_to(a.password_hash, 'UTF8')) = sha256(convert_to(p_candidate, 'UTF8'))"

FUNCTIONS = {
    "account_salt(text, text, integer)": rf"""
CREATE FUNCTION auth.account_salt(p_email text, p_default_settings text, p_default_hash_len integer)
RETURNS TABLE (settings text, hash_len integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  parts text[];
BEGIN
  SELECT regexp_match(a.password_hash, '^(\$argon2[a-z]+\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$')
    INTO parts FROM public.accounts a WHERE a.email = p_email;
  IF parts IS NOT NULL THEN
    settings := parts[1];
    hash_len := length(parts[2]) * 3 / 4;  -- unpadded base64
    RETURN NEXT;
    RETURN;
  END IF;
  IF p_default_settings IS NULL OR p_default_settings !~ '{ARGON2_SETTINGS}'
     OR p_default_hash_len IS NULL OR p_default_hash_len NOT BETWEEN 16 AND 128 THEN
    RAISE EXCEPTION 'account_salt: bad default argon2 settings' USING ERRCODE = '22023';
  END IF;
  -- Unknown email (or no password): the app's own parameters and a salt that is the same on every call,
  -- derived from a key only this role reads, so the two cases cannot be told apart.
  SELECT p_default_settings || '$'
         || rtrim(encode(substring(sha256(convert_to(k.secret || coalesce(p_email, ''), 'UTF8')) FROM 1 FOR 16), 'base64'), '=')
    INTO settings FROM auth.fake_salt_key k;
  hash_len := p_default_hash_len;
  RETURN NEXT;
END
$$
""",
    "account_login(text, text, text, timestamptz)": f"""
CREATE FUNCTION auth.account_login(p_email text, p_candidate text, p_role text, p_at timestamptz)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  found bigint;
BEGIN
  UPDATE public.accounts a SET last_login_at = p_at
   WHERE a.email = p_email AND a.role = p_role AND a.active
     AND a.password_hash IS NOT NULL AND {SAME_HASH}
  RETURNING a.id INTO found;
  RETURN found;
END
$$
""",
    "account_rehash(bigint, text, text)": f"""
CREATE FUNCTION auth.account_rehash(p_id bigint, p_candidate text, p_new_hash text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_new_hash IS NULL OR p_new_hash !~ '{ARGON2_HASH}' THEN
    RAISE EXCEPTION 'account_rehash: not an argon2 hash' USING ERRCODE = '22023';
  END IF;
  UPDATE public.accounts a SET password_hash = p_new_hash
   WHERE a.id = p_id AND a.password_hash IS NOT NULL AND {SAME_HASH};
  RETURN FOUND;
END
$$
""",
    "account_password_change(bigint, text, text)": f"""
CREATE FUNCTION auth.account_password_change(p_id bigint, p_candidate text, p_new_hash text)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  version integer;
BEGIN
  IF p_new_hash IS NULL OR p_new_hash !~ '{ARGON2_HASH}' THEN
    RAISE EXCEPTION 'account_password_change: not an argon2 hash' USING ERRCODE = '22023';
  END IF;
  -- Every session opened with the old password ends (the session id carries the version).
  UPDATE public.accounts a SET password_hash = p_new_hash, session_version = a.session_version + 1
   WHERE a.id = p_id AND a.active AND a.password_hash IS NOT NULL AND {SAME_HASH}
  RETURNING a.session_version INTO version;
  RETURN version;
END
$$
""",
    "account_locale_set(bigint, text)": """
CREATE FUNCTION auth.account_locale_set(p_id bigint, p_locale text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_locale IS NOT NULL AND p_locale !~ '^[a-z]{2,3}$' THEN
    RAISE EXCEPTION 'account_locale_set: not a language code' USING ERRCODE = '22023';
  END IF;
  UPDATE public.accounts a SET locale = p_locale WHERE a.id = p_id;
  RETURN FOUND;
END
$$
""",
}


def upgrade():
    op.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ACCOUNTS_ROLE}') "
        f"THEN CREATE ROLE {ACCOUNTS_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; END IF; END $$"
    )
    op.execute(f"GRANT {ACCOUNTS_ROLE} TO CURRENT_USER")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {ACCOUNTS_ROLE}")
    op.execute(f"GRANT SELECT (id, email, password_hash, role, active, session_version) ON accounts TO {ACCOUNTS_ROLE}")
    op.execute(f"GRANT UPDATE (password_hash, locale, session_version, last_login_at) ON accounts TO {ACCOUNTS_ROLE}")
    op.execute(f"CREATE SCHEMA auth AUTHORIZATION {ACCOUNTS_ROLE}")
    op.execute("REVOKE ALL ON SCHEMA auth FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA auth TO {APP_ROLE}")
    op.execute(f"SET LOCAL ROLE {ACCOUNTS_ROLE}")
    # The key of the fake salts: random per database, readable by the functions' role alone (a new table
    # grants nothing to anyone but its owner; an explicit REVOKE would only leave an ACL a restore drops).
    op.execute("CREATE TABLE auth.fake_salt_key (secret text NOT NULL)")
    op.execute("INSERT INTO auth.fake_salt_key VALUES (gen_random_uuid()::text || gen_random_uuid()::text)")
    for signature, definition in FUNCTIONS.items():
        op.execute(definition)
        # Functions are executable by PUBLIC by default: only the web role may call these.
        op.execute(f"REVOKE ALL ON FUNCTION auth.{signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION auth.{signature} TO {APP_ROLE}")
    op.execute("RESET ROLE")
    op.execute(f"REVOKE {ACCOUNTS_ROLE} FROM CURRENT_USER")
    # Revoking the table privileges also revokes 0013's column-level UPDATE.
    op.execute(f"REVOKE SELECT, INSERT, UPDATE, DELETE ON accounts FROM {APP_ROLE}")
    op.execute(f"GRANT SELECT ({ACCOUNT_READABLE}) ON accounts TO {APP_ROLE}")


def downgrade():
    op.execute(f"REVOKE SELECT ({ACCOUNT_READABLE}) ON accounts FROM {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT ON accounts TO {APP_ROLE}")
    op.execute(f"GRANT UPDATE ({ACCOUNT_UPDATABLE}) ON accounts TO {APP_ROLE}")
    op.execute(f"GRANT {ACCOUNTS_ROLE} TO CURRENT_USER")
    op.execute("DROP SCHEMA IF EXISTS auth CASCADE")
    op.execute(f"REVOKE ALL ON accounts FROM {ACCOUNTS_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {ACCOUNTS_ROLE}")
    op.execute(f"REVOKE {ACCOUNTS_ROLE} FROM CURRENT_USER")
