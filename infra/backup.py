"""Backups, restore and the restore drill (`make backup`, `make restore`, `make drill`).

A backup is one folder:
  database.dump   pg_dump custom format, taken by the backup role (BYPASSRLS, reads everything)
  objects/        every object of the bucket, one file each (named by number; keys in the inventory)
  inventory.json  key, size, sha256, content type and metadata of each object
  manifest.json   time, file sizes and sha256, per-table and per-province row counts and checksums,
                  and the security catalogue (RLS flags, policies, grants, roles)

Counts and checksums are read in the same snapshot pg_dump dumps (pg_export_snapshot), so the manifest
describes exactly what the dump holds. The folder is written under a temporary name and renamed only
once everything succeeded: a failed backup leaves nothing that looks like a backup.

The drill restores into a new database and bucket and compares everything with the manifest: what a
backup is worth is only known by restoring it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import boto3
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

BACKUP_ROLE = os.environ.get("DB_BACKUP_ROLE", "ocop_backup")
MANIFEST = "manifest.json"
INVENTORY = "inventory.json"
DUMP = "database.dump"

TABLES_SQL = """
SELECT c.relname,
       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
               AND NOT a.attisdropped)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
ORDER BY c.relname
"""

# What must come back for isolation to hold: RLS flags, policies, table and function grants, roles.
CATALOGUE_SQL = {
    "rls": """
        SELECT n.nspname || '.' || c.relname, c.relrowsecurity, c.relforcerowsecurity
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
          AND c.relkind IN ('r', 'p')
        ORDER BY 1""",
    "policies": """
        SELECT schemaname || '.' || tablename, policyname, permissive, roles::text, cmd, qual, with_check
        FROM pg_policies ORDER BY 1, 2""",
    # From the ACLs themselves: information_schema shows only the grants the current role takes part in.
    # A table whose grants were all revoked but its owner's keeps an explicit ACL equal to the default,
    # which pg_dump does not repeat (the restored ACL is NULL): NULL is read as the default it stands for.
    "table_grants": """
        SELECT r.rolname, n.nspname || '.' || c.relname, a.privilege_type
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
             aclexplode(coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a
             JOIN pg_roles r ON r.oid = a.grantee
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
        ORDER BY 1, 2, 3""",
    "column_grants": """
        SELECT r.rolname, n.nspname || '.' || c.relname || '.' || t.attname, a.privilege_type
        FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace,
             aclexplode(t.attacl) a JOIN pg_roles r ON r.oid = a.grantee
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
        ORDER BY 1, 2, 3""",
    "routine_grants": """
        SELECT coalesce(r.rolname, 'PUBLIC'), n.nspname || '.' || p.proname, a.privilege_type
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
             aclexplode(p.proacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
        ORDER BY 1, 2, 3""",
    "schema_grants": """
        SELECT coalesce(r.rolname, 'PUBLIC'), n.nspname, a.privilege_type
        FROM pg_namespace n, aclexplode(n.nspacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%'
        ORDER BY 1, 2, 3""",
    "owners": """
        SELECT n.nspname || '.' || c.relname, pg_get_userbyid(c.relowner)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
          AND c.relkind IN ('r', 'p', 'v', 'm')
        ORDER BY 1""",
}


class BackupError(RuntimeError):
    """A backup, restore or drill that must not be taken for a success."""


def _with(url: str, **changes) -> str:
    params = conninfo_to_dict(url)
    for key, value in changes.items():
        params[key] = value
        if key == "user":
            params.pop("password", None)
    return make_conninfo(**params)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def backup_role_ensure(admin_url: str, dbname: str) -> str:
    """The backup role (read-only, BYPASSRLS) exists and may connect; returns its URL. Superuser only:
    BYPASSRLS can be granted by nobody else, which is also why no app role can ever take a full dump."""
    with psycopg.connect(_with(admin_url), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [BACKUP_ROLE]).fetchone():
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE BYPASSRLS").format(
                    sql.Identifier(BACKUP_ROLE)
                )
            )
        conn.execute(sql.SQL("GRANT pg_read_all_data TO {}").format(sql.Identifier(BACKUP_ROLE)))
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(dbname), sql.Identifier(BACKUP_ROLE))
        )
    return _with(admin_url, user=BACKUP_ROLE, dbname=dbname)


def _tables_state(conn: psycopg.Connection) -> dict:
    """Rows and a checksum per table, and rows per province for tenant tables (as seen by `conn`)."""
    slugs = dict(conn.execute("SELECT id, slug FROM tenants").fetchall())
    state = {}
    for table, tenant_scoped in conn.execute(TABLES_SQL).fetchall():
        ident = sql.Identifier(table)
        rows, checksum = conn.execute(
            sql.SQL(
                "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) "
                "FROM (SELECT md5(t::text) AS h FROM {} t) s"
            ).format(ident)
        ).fetchone()
        entry = {"rows": rows, "checksum": checksum}
        if tenant_scoped:
            per = conn.execute(sql.SQL("SELECT tenant_id, count(*) FROM {} GROUP BY 1").format(ident)).fetchall()
            entry["per_province"] = {slugs.get(tid, str(tid)): n for tid, n in sorted(per)}
        state[table] = entry
    return state


def _catalogue(conn: psycopg.Connection) -> dict:
    out = {
        name: [list(map(str, row)) for row in conn.execute(query).fetchall()] for name, query in CATALOGUE_SQL.items()
    }
    # The roles that hold those grants, their attributes and memberships (roles are cluster-wide).
    granted = sorted({row[0] for part in ("table_grants", "routine_grants", "schema_grants") for row in out[part]})
    out["roles"] = [
        list(map(str, row))
        for row in conn.execute(
            "SELECT r.rolname, r.rolsuper, r.rolbypassrls, r.rolcanlogin, "
            "ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "WHERE m.member = r.oid ORDER BY 1) FROM pg_roles r WHERE r.rolname = ANY(%s) ORDER BY 1",
            [granted],
        ).fetchall()
    ]
    return out


def _s3(settings: dict):
    return boto3.client(
        "s3",
        endpoint_url=settings["S3_ENDPOINT_URL"],
        aws_access_key_id=settings.get("S3_ACCESS_KEY_ID") or None,
        aws_secret_access_key=settings.get("S3_SECRET_ACCESS_KEY") or None,
        region_name=settings.get("S3_REGION", "us-east-1"),
    )


def _object_keys(client, bucket: str):
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            yield item["Key"]


def backup_take(database_url: str, s3_settings: dict, target: Path) -> dict:
    """Take a backup into `target` (must not exist); returns the manifest."""
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} exists: a backup never overwrites another")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "objects").mkdir(parents=True)
    try:
        manifest = _backup_into(database_url, s3_settings, partial)
        partial.rename(target)
        return manifest
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _backup_into(database_url: str, s3_settings: dict, folder: Path) -> dict:
    started = datetime.now(UTC)
    with psycopg.connect(database_url) as conn:
        conn.isolation_level, conn.read_only = psycopg.IsolationLevel.REPEATABLE_READ, True
        role, bypass = conn.execute(
            "SELECT current_user, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        if not bypass:
            # Under RLS such a role would dump only what its policies show: a partial backup.
            raise BackupError(f"role {role} cannot take a backup: it is not the backup role (no BYPASSRLS)")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        dump = folder / DUMP
        # row_security off (pg_dump's default) makes PostgreSQL refuse rather than silently filter.
        result = subprocess.run(
            ["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={dump}", database_url],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
        tables = _tables_state(conn)
        catalogue = _catalogue(conn)
        database = conn.info.dbname
    inventory = _objects_download(s3_settings, folder / "objects")
    (folder / INVENTORY).write_text(json.dumps(inventory, indent=1, ensure_ascii=False))
    manifest = {
        "format": 1,
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "database": database,
        "bucket": s3_settings["S3_BUCKET"],
        "files": {
            name: {"bytes": (folder / name).stat().st_size, "sha256": _sha256(folder / name)}
            for name in (DUMP, INVENTORY)
        },
        "objects": {"count": len(inventory), "bytes": sum(o["size"] for o in inventory)},
        "tables": tables,
        "catalogue": catalogue,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    return manifest


def _objects_download(s3_settings: dict, folder: Path) -> list[dict]:
    client, bucket = _s3(s3_settings), s3_settings["S3_BUCKET"]
    inventory = []
    for number, key in enumerate(_object_keys(client, bucket)):
        path = folder / f"{number:08d}"
        response = client.get_object(Bucket=bucket, Key=key)
        with path.open("wb") as f:
            shutil.copyfileobj(response["Body"], f)
        inventory.append(
            {
                "key": key,
                "file": path.name,
                "size": path.stat().st_size,
                "sha256": _sha256(path),
                "content_type": response.get("ContentType"),
                "metadata": response.get("Metadata", {}),
            }
        )
    return inventory


def _manifest_checked(source: Path) -> dict:
    """The manifest, after checking that the dump and the inventory are the files it describes."""
    manifest = json.loads((source / MANIFEST).read_text())
    for name, expected in manifest["files"].items():
        if _sha256(source / name) != expected["sha256"]:
            raise BackupError(f"{name} does not match the manifest: the backup is damaged")
    return manifest


def backup_restore(source: Path, admin_url: str, dbname: str, s3_settings: dict) -> dict:
    """Restore a backup into a NEW database `dbname` and the (empty or new) bucket of s3_settings."""
    source = Path(source)
    manifest = _manifest_checked(source)
    owner = os.environ.get("DB_OWNER_ROLE", "ocop_owner")
    with psycopg.connect(_with(admin_url), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone():
            raise BackupError(f"database {dbname} exists: restore goes into a new database")
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                sql.Identifier(dbname), sql.Identifier(owner)
            )
        )
    # As a superuser, so owners (the roll-up role owns the national views) and grants come back as dumped.
    # Materialized views are filled afterwards: pg_restore refreshes them with row_security off, which
    # their owner (subject to RLS) may not do, so they are left out of the list and refreshed below.
    listing = subprocess.run(["pg_restore", "--list", str(source / DUMP)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise BackupError(f"pg_restore failed: {listing.stderr.strip()}")
    entries = listing.stdout.splitlines()
    views = [
        line.split("MATERIALIZED VIEW DATA ", 1)[1].split()[:2] for line in entries if "MATERIALIZED VIEW DATA " in line
    ]
    source_list = Path(tempfile.gettempdir()) / f"{dbname}.list"
    source_list.write_text("\n".join(line for line in entries if "MATERIALIZED VIEW DATA " not in line))
    result = subprocess.run(
        ["pg_restore", "--exit-on-error", "--use-list", str(source_list), "--dbname", _with(admin_url, dbname=dbname),
         str(source / DUMP)],
        capture_output=True,
        text=True,
    )  # fmt: skip
    source_list.unlink(missing_ok=True)
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
    with psycopg.connect(_with(admin_url, dbname=dbname), autocommit=True) as conn:
        conn.execute("SET row_security = on")  # the owner's read policies apply, as when the cron refreshes
        for schema, name in views:
            conn.execute(
                sql.SQL("REFRESH MATERIALIZED VIEW {}.{}").format(sql.Identifier(schema), sql.Identifier(name))
            )
    client, bucket = _s3(s3_settings), s3_settings["S3_BUCKET"]
    try:
        client.head_bucket(Bucket=bucket)
    except client.exceptions.ClientError:
        client.create_bucket(Bucket=bucket)
    if next(_object_keys(client, bucket), None) is not None:
        raise BackupError(f"bucket {bucket} is not empty: restore goes into an empty bucket")
    for item in json.loads((source / INVENTORY).read_text()):
        extra = {"Metadata": item["metadata"]}
        if item["content_type"]:
            extra["ContentType"] = item["content_type"]
        with (source / "objects" / item["file"]).open("rb") as f:
            client.put_object(Bucket=bucket, Key=item["key"], Body=f, **extra)
    return manifest


def backup_compare(source: Path, database_url: str, s3_settings: dict) -> list[str]:
    """Differences between a restored database/bucket and the backup's manifest (empty = identical)."""
    manifest = _manifest_checked(Path(source))
    with psycopg.connect(database_url) as conn:
        conn.isolation_level, conn.read_only = psycopg.IsolationLevel.REPEATABLE_READ, True
        tables, catalogue = _tables_state(conn), _catalogue(conn)
    differences = []
    for table in sorted(set(tables) | set(manifest["tables"])):
        if tables.get(table) != manifest["tables"].get(table):
            differences.append(f"table {table}: {manifest['tables'].get(table)} != {tables.get(table)}")
    for part in sorted(set(catalogue) | set(manifest["catalogue"])):
        if catalogue.get(part) != manifest["catalogue"].get(part):
            differences.append(f"catalogue {part} differs")
    client, bucket = _s3(s3_settings), s3_settings["S3_BUCKET"]
    expected = {o["key"]: o["sha256"] for o in json.loads((Path(source) / INVENTORY).read_text())}
    found = {}
    for key in _object_keys(client, bucket):
        digest = hashlib.sha256()
        for chunk in client.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1 << 20):
            digest.update(chunk)
        found[key] = digest.hexdigest()
    if found != expected:
        missing, extra = set(expected) - set(found), set(found) - set(expected)
        changed = {k for k in set(found) & set(expected) if found[k] != expected[k]}
        differences.append(f"objects: {len(missing)} missing, {len(extra)} extra, {len(changed)} changed")
    return differences


def backup_drill(source: Path, admin_url: str, s3_settings: dict, *, keep: bool = False) -> dict:
    """Restore into a fresh database and bucket, compare with the manifest, then drop them (unless keep)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    dbname, bucket = f"ocop_drill_{stamp}", f"ocop-drill-{stamp}"
    drill_s3 = {**s3_settings, "S3_BUCKET": bucket}
    try:
        manifest = backup_restore(source, admin_url, dbname, drill_s3)
        differences = backup_compare(source, _with(admin_url, dbname=dbname), drill_s3)
    finally:
        if not keep:
            _drop(admin_url, dbname, drill_s3)
    if differences:
        raise BackupError("restore drill failed:\n  " + "\n  ".join(differences))
    return {
        "database": dbname,
        "bucket": bucket,
        "tables": len(manifest["tables"]),
        "rows": sum(t["rows"] for t in manifest["tables"].values()),
        "objects": manifest["objects"]["count"],
    }


def _drop(admin_url: str, dbname: str, s3_settings: dict) -> None:
    with psycopg.connect(_with(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
    client, bucket = _s3(s3_settings), s3_settings["S3_BUCKET"]
    try:
        for key in list(_object_keys(client, bucket)):
            client.delete_object(Bucket=bucket, Key=key)
        client.delete_bucket(Bucket=bucket)
    except client.exceptions.ClientError:
        pass


def _environment() -> dict[str, str]:
    """The deployment's settings: from the environment, else those of `make run` (./var)."""
    env = dict(os.environ)
    if not env.get("ADMIN_DATABASE_URL") or not env.get("S3_ENDPOINT_URL"):
        from infra import run

        env = run.environment()
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.backup", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    take = commands.add_parser("backup", help="take a backup into a new folder")
    take.add_argument("--to", type=Path, help="folder to create (default backups/<UTC time>)")
    restore = commands.add_parser("restore", help="restore a backup into a new database and bucket")
    restore.add_argument("--from", dest="source", type=Path, required=True)
    restore.add_argument("--database", required=True)
    restore.add_argument("--bucket", required=True)
    drill = commands.add_parser("drill", help="restore into a scratch database and bucket and compare")
    drill.add_argument("--from", dest="source", type=Path, required=True)
    drill.add_argument("--keep", action="store_true", help="keep the scratch database and bucket")
    args = parser.parse_args(argv)
    env = _environment()
    s3 = {k: env[k] for k in env if k.startswith("S3_")}
    try:
        if args.command == "backup":
            dbname = conninfo_to_dict(env["DATABASE_URL"]).get("dbname", "ocop")
            url = env.get("BACKUP_DATABASE_URL") or backup_role_ensure(env["ADMIN_DATABASE_URL"], dbname)
            target = args.to or Path("backups") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            manifest = backup_take(url, s3, target)
            rows = sum(t["rows"] for t in manifest["tables"].values())
            print(
                f"backup {target}: {len(manifest['tables'])} tables, {rows} rows, {manifest['objects']['count']} objects"
            )
        elif args.command == "restore":
            backup_restore(args.source, env["ADMIN_DATABASE_URL"], args.database, {**s3, "S3_BUCKET": args.bucket})
            print(f"restored {args.source} into database {args.database} and bucket {args.bucket}")
        else:
            report = backup_drill(args.source, env["ADMIN_DATABASE_URL"], s3, keep=args.keep)
            print(
                f"drill passed: {report['tables']} tables, {report['rows']} rows, {report['objects']} objects, "
                "RLS flags, policies, grants and owners equal to the manifest"
            )
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
