"""What the features above tell notices: their daily sweeps (certificate expiry reminders from
certification, overdue inspections from inspection, …). Each is `sweep() -> int` (notices created) and
runs inside one province, once a day, from app/notices/jobs.py; it must be idempotent (notice keys make
a re-run create nothing)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

Sweep = Callable[[], int]


def register_daily_sweep(app: Flask, name: str, sweep: Sweep) -> None:
    sweeps = app.extensions.setdefault("ocop.notice_sweeps", {})
    if name in sweeps:
        raise ValueError(f"notice sweep {name!r} is registered twice")
    sweeps[name] = sweep


def daily_sweeps(app: Flask | None = None) -> dict[str, Sweep]:
    return dict((app or current_app).extensions.get("ocop.notice_sweeps", {}))
