"""The `[inspection]` section of the province file: the province's inspection policy (app/inspection/policy.py)."""

from __future__ import annotations

from flask import Flask

from app.inspection.policy import PolicyError
from app.inspection.services import inspection_policy_sync
from tenants.models import Tenant
from tenants.sync import DefinitionError, SyncReport, register_section


def _sync_inspection(tenant: Tenant, data: dict, report: SyncReport) -> None:
    try:
        changed = inspection_policy_sync(data.get("inspection"))
    except PolicyError as error:
        raise DefinitionError(f"{tenant.slug}: [inspection] {error}") from error
    if changed:
        report.count("inspection_policy")


def register_province_sections(app: Flask) -> None:
    register_section(app, "inspection", _sync_inspection)
