"""The cycle section of the province file: the province's own cycle windows (`[cycle]`), kept on the tenant."""

from __future__ import annotations

from flask import Flask

from tenants.models import Tenant
from tenants.sync import SyncReport, register_section


def _sync_cycle(tenant: Tenant, data: dict, report: SyncReport) -> None:
    template = data.get("cycle")
    if tenant.cycle_template != template:
        tenant.cycle_template = template
        report.count("cycle")


def register_province_sections(app: Flask) -> None:
    register_section(app, "cycle", _sync_cycle)
