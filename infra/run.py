"""`make run`: the whole product on one machine, stopped with Ctrl-C.

Services come from DATABASE_URL / REDIS_URL / S3_ENDPOINT_URL when set; otherwise embedded ones are
started with their state in ./var (infra/stack.py). Then: migrations, tenant sync, demo accounts,
an RQ worker, the RQ cron process and the web server (gunicorn) on 127.0.0.1:$PORT.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from infra import stack
from infra.database import bootstrap

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("OCOP_VAR", ROOT / "var"))
RUN_DIR = VAR / "run"
PROCESS_NAMES = ("web", "worker", "cron")


def _secret_key() -> str:
    """Stable across restarts and shared by every process, so sessions and CSRF tokens stay valid."""
    path = VAR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def environment() -> dict[str, str]:
    VAR.mkdir(exist_ok=True)
    env = dict(os.environ)
    configured_database = bool(env.get("DATABASE_URL"))
    if configured_database and not env.get("MIGRATION_DATABASE_URL"):
        raise SystemExit("DATABASE_URL is set: set MIGRATION_DATABASE_URL (owner) and NATIONAL_DATABASE_URL too")
    # Services named in the environment are used as they are; the others run embedded under ./var.
    env.update(stack.up(VAR, prefer_local=False, with_postgres=not configured_database))
    if not configured_database:
        env.update(bootstrap(env["ADMIN_DATABASE_URL"], "ocop"))
    env.setdefault("SECRET_KEY", _secret_key())
    env.setdefault("OCOP_ENV", "dev")
    env.setdefault("SESSION_COOKIE_SECURE", "0")  # plain http on 127.0.0.1
    return env


def _flask(env, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def _start(name: str, command: list[str], env) -> subprocess.Popen:
    log_file = open(VAR / "log" / f"{name}.log", "ab")
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )
    (RUN_DIR / f"{name}.pid").write_text(str(process.pid))
    return process


def _wait_healthy(url: str, processes: dict[str, subprocess.Popen], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise SystemExit(f"{name} exited early; see var/log/{name}.log")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer 200 within {timeout:.0f}s; see var/log/web.log")


RESTART_WINDOW = 60.0  # seconds
RESTART_LIMIT = 5  # restarts of one process within the window before the launcher gives up


def _supervise(processes: dict[str, subprocess.Popen], commands: dict[str, list[str]], env) -> None:
    """Restart any process that exits (a killed worker must not take the product down); give up only
    on one that keeps dying, which is a bug to read in var/log/, not an outage to hide."""
    restarts: dict[str, list[float]] = {name: [] for name in processes}
    while True:
        time.sleep(1)
        for name, process in list(processes.items()):
            code = process.poll()
            if code is None:
                continue
            now = time.monotonic()
            restarts[name] = [t for t in restarts[name] if now - t < RESTART_WINDOW] + [now]
            if len(restarts[name]) > RESTART_LIMIT:
                print(f"{name} keeps exiting ({code}); giving up, see var/log/{name}.log", file=sys.stderr)
                return
            print(f"{name} exited ({code}); restarting it", file=sys.stderr, flush=True)
            # Its orphans go too (gunicorn workers holding the port, a work-horse): a job they held is
            # found abandoned and run again, and jobs are idempotent.
            _kill_group(process.pid)
            processes[name] = _start(name, commands[name], env)


def _kill_group(pgid: int, grace: float = 5.0) -> None:
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop_processes() -> None:
    """Stop web, worker and cron (from their pid files), e.g. after a crash."""
    for name in PROCESS_NAMES:
        pid_file = RUN_DIR / f"{name}.pid"
        if not pid_file.exists():
            continue
        try:
            os.killpg(int(pid_file.read_text()), signal.SIGTERM)
        except (ProcessLookupError, ValueError, PermissionError):
            pass
        pid_file.unlink(missing_ok=True)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> None:
    # Explicit handlers: a launcher started from a script may inherit an ignored SIGINT.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    env = environment()
    (VAR / "log").mkdir(exist_ok=True)
    RUN_DIR.mkdir(exist_ok=True)
    port = env.get("PORT", "5000")
    print("· migrating the database", flush=True)
    _flask(env, "db", "upgrade")
    print("· syncing provinces from tenants/provinces/*.toml", flush=True)
    print(_flask(env, "tenants", "sync"), end="")
    logins = _flask(env, "demo", "seed")
    venv_bin = Path(sys.executable).parent
    commands = {
        "worker": [sys.executable, "-m", "jobs.worker"],
        "cron": [str(venv_bin / "rq"), "cron", "jobs/cron_config.py", "-u", env["REDIS_URL"]],
        "web": [
            str(venv_bin / "gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "-",
            "wsgi:app",
        ],
    }
    processes = {name: _start(name, command, env) for name, command in commands.items()}
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(f"{base}/readyz", processes)
        print(f"\nOCOP is running at {base}/   (health: {base}/healthz)")
        print("Demo logins (where, email, password):")
        print(logins)
        print("Logs in var/log/. Press Ctrl-C to stop everything.", flush=True)
        _supervise(processes, commands, env)
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
    finally:
        stop_processes()
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        stack.down(VAR)


if __name__ == "__main__":
    if sys.argv[1:] == ["stop"]:
        stop_processes()
        stack.down(VAR)
    else:
        main()
