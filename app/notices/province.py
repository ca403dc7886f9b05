"""The notices section of the province file: `[notices] expiry_reminder_days = [90, 60, 30]`.

A value that would remind later than 30 days before expiry is refused (the file is reported broken and
nothing of it is synced)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import delete, select

from app.extensions import db
from app.notices.models import NoticeSettings
from app.notices.services import NoticeError, checked_reminder_days, notice_settings_save
from tenants.models import Tenant
from tenants.sync import DefinitionError, SyncReport, register_section


def _sync_notices(tenant: Tenant, data: dict, report: SyncReport) -> None:
    section = data.get("notices") or {}
    days = section.get("expiry_reminder_days")
    if days is None:
        if db.session.execute(delete(NoticeSettings)).rowcount:
            report.count("notices")
        return
    try:
        days = checked_reminder_days(days)
    except NoticeError as error:
        raise DefinitionError(f"{tenant.slug}.toml: [notices] expiry_reminder_days: {error}") from None
    if db.session.scalar(select(NoticeSettings.expiry_reminder_days)) != days:
        notice_settings_save(days)
        report.count("notices")


def register_province_sections(app: Flask) -> None:
    register_section(app, "notices", _sync_notices)
