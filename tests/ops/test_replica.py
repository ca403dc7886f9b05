"""A streaming read replica serves the national roll-ups: the national role reads the same aggregates
from the standby as from the primary, and the standby refuses writes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date

import psycopg
import pytest

from infra.database import bootstrap
from infra.pgcluster import Cluster
from tests.conftest import ROOT, make_app


def _flask(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args], env=env, cwd=ROOT, check=True, capture_output=True
    )


def _caught_up(primary: Cluster, replica: Cluster, timeout: float = 60) -> None:
    with primary.connect() as conn:
        lsn = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + timeout
    with replica.connect(autocommit=True) as conn:
        while not conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]).fetchone()[0]:
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.2)


def _rollups(app_env, national_url):
    from app.config import sqlalchemy_url
    from app.national.services import province_counts, province_rollups

    app = make_app(app_env, NATIONAL_DATABASE_URL=sqlalchemy_url(national_url))
    with app.app_context():
        return province_rollups(), province_counts(date.today())


@pytest.mark.timeout(300)
def test_national_rollups_from_a_streaming_replica(cluster_root, app_env):
    primary = Cluster(cluster_root / "primary").init(wal_level="replica", max_wal_senders="4")
    replica = None
    try:
        primary.start()
        urls = bootstrap(primary.url(), "ocop")
        # The standby is made before the data exists: what it serves came by streaming.
        replica = primary.base_backup(cluster_root / "replica", replica=True)
        replica.start()
        env = {**os.environ, **{k: v for k, v in app_env.items() if k.startswith(("S3_", "REDIS"))}, **urls}
        env["OCOP_ENV"] = "test"
        _flask(env, "db", "upgrade")
        _flask(env, "tenants", "sync")
        _flask(env, "demo", "seed")
        _caught_up(primary, replica)

        national_on_replica = f"postgresql://ocop_national@/ocop?host={replica.socket_dir}"
        assert national_on_replica != urls["NATIONAL_DATABASE_URL"]
        from_primary = _rollups(app_env, urls["NATIONAL_DATABASE_URL"])
        from_replica = _rollups(app_env, national_on_replica)
        assert from_replica == from_primary
        rollups, counts = from_replica
        assert len(rollups) == 4 and sum(r.producers for r in rollups) > 0
        with psycopg.connect(national_on_replica) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                conn.execute("CREATE TEMP TABLE t (x int)")
    finally:
        primary.remove()
        if replica is not None:
            replica.remove()
