"""Point-in-time recovery, as production is configured for it (README, Operations): WAL archived by
archive_command, a base backup, then a destructive change; recovery to just before it brings back
the markers written after the base backup and the dropped table, and nothing written after."""

from __future__ import annotations

import time

from infra.pgcluster import Cluster


def _wait_archived(primary: Cluster, timeout: float = 30) -> None:
    """Close the current WAL segment and wait until archive_command has copied it."""
    with primary.connect(autocommit=True) as conn:
        segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = conn.execute("SELECT last_archived_wal >= %s FROM pg_stat_archiver", [segment]).fetchone()[0]
            if done:
                return
            time.sleep(0.2)
    raise AssertionError(f"WAL segment {segment} was not archived")


def test_recovery_to_just_before_a_dropped_table(cluster_root):
    archive = cluster_root / "wal-archive"
    primary = Cluster(cluster_root / "primary").init(
        wal_level="replica", archive_mode="on", archive_command=f"test ! -f {archive}/%f && cp %p {archive}/%f"
    )
    primary.writable_dir(archive)
    recovered = None
    try:
        primary.start()
        with primary.connect(autocommit=True) as conn:
            conn.execute("CREATE TABLE markers (label text PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())")
            conn.execute("CREATE TABLE certificates_copy AS SELECT g AS id FROM generate_series(1, 1000) g")
            conn.execute("INSERT INTO markers (label) VALUES ('before base backup')")
        base = primary.base_backup(cluster_root / "base")
        with primary.connect(autocommit=True) as conn:
            conn.execute("INSERT INTO markers (label) VALUES ('after base 1'), ('after base 2')")
            time.sleep(1.1)  # recovery_target_time has a resolution of the commit timestamps
            target = conn.execute("SELECT clock_timestamp()").fetchone()[0]
            time.sleep(1.1)
            conn.execute("DROP TABLE certificates_copy")
            conn.execute("INSERT INTO markers (label) VALUES ('after the drop')")
        _wait_archived(primary)
        primary.stop()

        recovered = base
        (recovered.data / "recovery.signal").touch()
        recovered.configure(
            restore_command=f"cp {archive}/%f %p",
            recovery_target_time=target.isoformat(),
            recovery_target_action="promote",
            archive_mode="off",
        )
        recovered.start()
        deadline = time.monotonic() + 60
        with recovered.connect(autocommit=True) as conn:
            while conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                assert time.monotonic() < deadline, "recovery did not finish"
                time.sleep(0.2)
            labels = [row[0] for row in conn.execute("SELECT label FROM markers ORDER BY label")]
            assert labels == ["after base 1", "after base 2", "before base backup"]
            assert conn.execute("SELECT count(*) FROM certificates_copy").fetchone()[0] == 1000
    finally:
        primary.remove()
        if recovered is not None:
            recovered.remove()
