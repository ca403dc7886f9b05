"""A PostgreSQL cluster of our own on a unix socket: for point-in-time recovery and replica drills.

The same binaries and the same setup as the embedded server of infra/stack.py (run as the postgres
account when we are root), but any number of clusters, each with its own settings, so that a drill
can archive WAL, take base backups, stop and recover without touching the server the product uses.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path

import psycopg

from infra.stack import PG_SYSTEM_USER, _pg_tool, _prepare_pg_system_user, _socket_url


class Cluster:
    def __init__(self, data: Path):
        self.data = Path(data).resolve()
        # Unix socket paths are limited to 107 bytes: a short directory of its own.
        self.socket_dir = Path(tempfile.mkdtemp(prefix="ocop-pgc-"))
        self.log = self.data.with_name(self.data.name + ".log")

    def _own(self, *paths: Path) -> None:
        """Paths the server writes (data, socket, log, archive) belong to the postgres account."""
        if os.geteuid() != 0:
            return
        account = pwd.getpwnam(PG_SYSTEM_USER)
        for path in paths:
            os.chown(path, account.pw_uid, account.pw_gid)
            for sub in path.rglob("*") if path.is_dir() else ():
                os.chown(sub, account.pw_uid, account.pw_gid)

    def writable_dir(self, path: Path) -> Path:
        """A directory the server may write into (e.g. the WAL archive)."""
        path.mkdir(parents=True, exist_ok=True)
        self._own(path)
        return path

    def prepare(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        self.data.chmod(0o700)
        self.log.touch()
        if os.geteuid() == 0:
            _prepare_pg_system_user(self.data, self.socket_dir, self.log)
        self._own(self.data, self.socket_dir, self.log)

    def init(self, **settings: str) -> Cluster:
        self.prepare()
        _pg_tool(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
            "--locale=C.UTF-8", log_file=self.log,
        )  # fmt: skip
        self.configure(**settings)
        return self

    def configure(self, **settings: str) -> None:
        """Settings appended to postgresql.auto.conf (the last value of a setting wins)."""
        lines = "".join(f"{key} = '{value}'\n" for key, value in settings.items())
        with (self.data / "postgresql.auto.conf").open("a") as f:
            f.write(lines)

    def start(self) -> None:
        self._own(self.data, self.socket_dir, self.log)
        _pg_tool(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", f"-h '' -k {self.socket_dir}", "start", log_file=self.log,
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            _pg_tool("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", log_file=self.log)

    def url(self, database: str = "postgres") -> str:
        return _socket_url(self.socket_dir, database)

    def connect(self, database: str = "postgres", **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.url(database), **kwargs)

    def base_backup(self, target: Path, *, replica: bool = False) -> Cluster:
        """A base backup into `target`, as a new cluster; `replica=True` also writes the settings that
        make it a streaming standby of this one (pg_basebackup -R)."""
        copy = Cluster(target)
        copy.prepare()
        copy.data.rmdir()  # pg_basebackup creates it
        self._own(copy.data.parent)
        args = ["-D", str(copy.data), "-h", str(self.socket_dir), "-U", "postgres", "-X", "stream", "-c", "fast"]
        _pg_tool("pg_basebackup", *args, *(["-R"] if replica else []), log_file=self.log)
        copy.data.chmod(0o700)
        return copy

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.socket_dir, ignore_errors=True)
