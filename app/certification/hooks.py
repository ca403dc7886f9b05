"""What certification tells the features above it, without importing them.

A feature that plans from certificates (inspections) registers, when its blueprint is registered, a
callback run after a certificate is recorded, corrected or revoked (inside the same transaction; the
callback typically queues a job after commit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app, has_app_context


@dataclass
class CertificationHooks:
    # certificate -> None; called after a certificate is created, corrected or revoked (before commit). For the
    # certificates an import records set-wise (certificates_record_first, certificates_record_new), a copy of the
    # row: the same attributes.
    certificate_changed: list[Callable[[object], None]] = field(default_factory=list)


def certification_hooks(app: Flask | None = None) -> CertificationHooks:
    app = app or current_app
    return app.extensions.setdefault("ocop.certification_hooks", CertificationHooks())


def certificate_changed(cert) -> None:
    """Tell the registered features that this certificate changed."""
    if not has_app_context():
        return
    for callback in certification_hooks().certificate_changed:
        callback(cert)
