"""Backup → restore → drill on the real PostgreSQL and SeaweedFS, with data in two provinces."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest

from infra.backup import (
    BackupError,
    _drop,
    _with,
    backup_compare,
    backup_drill,
    backup_restore,
    backup_role_ensure,
    backup_take,
)
from tests.conftest import ROOT, TEST_DB
from tests.factories import document_accepted, new_tenant, producer_with_product


@pytest.fixture(scope="module")
def two_provinces(app):
    """Two fresh provinces with producers, products and stored documents (objects in the bucket)."""
    provinces = []
    for producers in (2, 3):
        tenant_id, slug = new_tenant(app)
        for _ in range(producers):
            producer_id, product_id = producer_with_product(app, tenant_id, stars=4)
            document_accepted(app, tenant_id, producer_id, product_id, stored=True)
        provinces.append((slug, producers))
    return provinces


@pytest.fixture(scope="module")
def s3_settings(app_env):
    return {k: v for k, v in app_env.items() if k.startswith("S3_")}


@pytest.fixture(scope="module")
def taken(tmp_path_factory, app_env, two_provinces, s3_settings):
    url = backup_role_ensure(app_env["ADMIN_DATABASE_URL"], TEST_DB)
    folder = tmp_path_factory.mktemp("backups") / "one"
    return folder, backup_take(url, s3_settings, folder)


def test_manifest_counts_each_province(taken, two_provinces, app_env):
    folder, manifest = taken
    assert sorted(p.name for p in folder.iterdir()) == ["database.dump", "inventory.json", "manifest.json", "objects"]
    for slug, producers in two_provinces:
        assert manifest["tables"]["producers"]["per_province"][slug] == producers
        assert manifest["tables"]["documents"]["per_province"][slug] == producers
    # The manifest's totals are the database's, read by a superuser (no RLS in the way).
    with psycopg.connect(_with(app_env["ADMIN_DATABASE_URL"], dbname=TEST_DB)) as conn:
        assert manifest["tables"]["producers"]["rows"] == conn.execute("SELECT count(*) FROM producers").fetchone()[0]
    assert manifest["objects"]["count"] == len(list((folder / "objects").iterdir())) >= 5
    assert {
        "rls",
        "policies",
        "table_grants",
        "column_grants",
        "routine_grants",
        "schema_grants",
        "owners",
        "roles",
    } <= set(manifest["catalogue"])


def test_drill_restores_everything_equal(taken, app_env, s3_settings):
    folder, manifest = taken
    report = backup_drill(folder, app_env["ADMIN_DATABASE_URL"], s3_settings)
    assert report["tables"] == len(manifest["tables"])
    assert report["objects"] == manifest["objects"]["count"]


def test_restored_database_keeps_isolation_and_the_drill_sees_damage(taken, app_env, s3_settings, two_provinces):
    folder, _ = taken
    admin = app_env["ADMIN_DATABASE_URL"]
    dbname, bucket = f"{TEST_DB}_restored", f"{TEST_DB.replace('_', '-')}-restored"
    restored_s3 = {**s3_settings, "S3_BUCKET": bucket}
    _drop(admin, dbname, restored_s3)
    try:
        backup_restore(folder, admin, dbname, restored_s3)
        # As the app role, RLS forced: one province sees its rows only, and none without a tenant.
        app_url = _with(app_env["DATABASE_URL"], dbname=dbname)
        slug, producers = two_provinces[0]
        with psycopg.connect(app_url) as conn:
            assert conn.execute("SELECT count(*) FROM producers").fetchone()[0] == 0
            tenant_id = conn.execute("SELECT id FROM tenants WHERE slug = %s", [slug]).fetchone()[0]
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
            assert conn.execute("SELECT count(*) FROM producers").fetchone()[0] == producers
        assert backup_compare(folder, _with(admin, dbname=dbname), restored_s3) == []
        # Damage: a row gone, a policy dropped, an object gone — each is reported.
        with psycopg.connect(_with(admin, dbname=dbname), autocommit=True) as conn:
            conn.execute("DELETE FROM documents WHERE id = (SELECT min(id) FROM documents)")
            conn.execute("DROP POLICY tenant_isolation ON products")
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=s3_settings["S3_ENDPOINT_URL"],
            aws_access_key_id=s3_settings.get("S3_ACCESS_KEY_ID") or None,
            aws_secret_access_key=s3_settings.get("S3_SECRET_ACCESS_KEY") or None,
            region_name=s3_settings.get("S3_REGION"),
        )
        key = client.list_objects_v2(Bucket=bucket)["Contents"][0]["Key"]
        client.delete_object(Bucket=bucket, Key=key)
        differences = backup_compare(folder, _with(admin, dbname=dbname), restored_s3)
        assert [d.split(":")[0] for d in differences] == ["table documents", "catalogue policies differs", "objects"]
        assert differences[-1] == "objects: 1 missing, 0 extra, 0 changed"
        # A restore never lands on an existing database.
        with pytest.raises(BackupError, match="exists"):
            backup_restore(folder, admin, dbname, restored_s3)
    finally:
        _drop(admin, dbname, restored_s3)


def test_damaged_backup_is_refused(taken, tmp_path, app_env, s3_settings):
    folder, _ = taken
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    with (copy / "database.dump").open("r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))  # a changed byte, whatever it was
    with pytest.raises(BackupError, match="damaged"):
        backup_drill(copy, app_env["ADMIN_DATABASE_URL"], s3_settings)


def test_wrong_role_fails_loudly_and_leaves_nothing(app_env, tmp_path, s3_settings, two_provinces):
    target = tmp_path / "bad"
    with pytest.raises(BackupError, match="not the backup role"):
        backup_take(app_env["DATABASE_URL"], s3_settings, target)
    with pytest.raises(BackupError, match="not the backup role"):
        backup_take(app_env["MIGRATION_DATABASE_URL"], s3_settings, target)
    assert list(tmp_path.iterdir()) == []


def test_pg_dump_failure_leaves_nothing(app_env, tmp_path, s3_settings, two_provinces):
    """A role that passes the first check but cannot read: pg_dump fails, the folder is removed."""
    admin = app_env["ADMIN_DATABASE_URL"]
    with psycopg.connect(_with(admin), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS ocop_backup_noread")
        conn.execute("CREATE ROLE ocop_backup_noread LOGIN BYPASSRLS")
    try:
        with pytest.raises(BackupError, match="pg_dump failed"):
            backup_take(_with(admin, user="ocop_backup_noread", dbname=TEST_DB), s3_settings, tmp_path / "bad")
        assert list(tmp_path.iterdir()) == []
    finally:
        with psycopg.connect(_with(admin), autocommit=True) as conn:
            conn.execute("DROP ROLE ocop_backup_noread")


def test_command_line_reports_failure_with_exit_status(app_env, tmp_path, two_provinces):
    env = {**os.environ, **app_env, "BACKUP_DATABASE_URL": app_env["DATABASE_URL"]}
    result = subprocess.run(
        [sys.executable, "-m", "infra.backup", "backup", "--to", str(tmp_path / "cli")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "not the backup role" in result.stderr
    assert list(tmp_path.iterdir()) == []
    env["BACKUP_DATABASE_URL"] = backup_role_ensure(app_env["ADMIN_DATABASE_URL"], TEST_DB)
    result = subprocess.run(
        [sys.executable, "-m", "infra.backup", "backup", "--to", str(tmp_path / "cli")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"backup {tmp_path / 'cli'}: ")
