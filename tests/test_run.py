"""`make run`'s launcher starts web, worker and cron, serves the login page and /healthz, and stops
everything on SIGTERM (as on Ctrl-C). Here it runs on the test services, so it starts none itself."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def _process(launcher, marker: str):
    """The launcher's child process whose command line holds `marker` (the parent of a group)."""
    for child in psutil.Process(launcher.pid).children():
        try:
            if marker in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                return child
        except psutil.NoSuchProcess:
            continue
    return None


# Starts the whole product, then kills and waits for two restarts: minutes on a loaded machine.
@pytest.mark.timeout(900)
def test_launcher_serves_and_stops_cleanly(app, app_env, tmp_path):
    port = _free_port()
    env = {**os.environ, **app_env, "PORT": str(port), "OCOP_VAR": str(tmp_path), "OCOP_ENV": "test-run"}
    launcher = subprocess.Popen(
        [sys.executable, "-m", "infra.run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    output = []
    try:
        # The launcher prints its banner once /healthz answers 200 (pytest-timeout bounds the wait).
        for line in launcher.stdout:
            output.append(line)
            if "Press Ctrl-C" in line:
                break
        banner = "".join(output)
        assert "OCOP is running at" in banner and "admin@bac-giang.ocop.demo" in banner, banner
        assert _get(f"{base}/healthz") == 200
        assert _get(f"{base}/bac-giang/login") == 200
        children = psutil.Process(launcher.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "gunicorn" in names and "jobs.worker" in names and "rq cron" in names

        # A worker, then the web server, killed outright: the launcher restarts each, the product stays up.
        for marker in ("jobs.worker", "gunicorn"):
            killed = _process(launcher, marker)
            killed.kill()
            deadline = time.monotonic() + 60
            while (replacement := _process(launcher, marker)) is None or replacement.pid == killed.pid:
                assert time.monotonic() < deadline, f"{marker} was not restarted"
                time.sleep(0.5)
            assert launcher.poll() is None
        deadline = time.monotonic() + 90
        while _get(f"{base}/bac-giang/login") != 200:
            assert time.monotonic() < deadline, "the restarted web server does not answer"
            time.sleep(0.5)
        children = psutil.Process(launcher.pid).children(recursive=True)
    finally:
        launcher.send_signal(signal.SIGTERM)
        rest, _ = launcher.communicate(timeout=60)
    assert "stopping" in rest
    assert _get(f"{base}/healthz") == 0
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
