"""Notices: create (idempotent by key), deliver (exactly once), the in-app list and the outbox.

Any feature asks for a notice with `notice_create(...)` (or `notices_create_many` for a set-wise sweep);
a delivery job is queued after the commit, and the per-tenant sweep (app/notices/jobs.py) delivers what a
lost job left pending. Delivery holds the notice's row lock (SELECT … FOR UPDATE SKIP LOCKED) while it
sends and marks it sent in the same transaction: a second run of the same job, or two workers at once,
find it sent or locked and send nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import any_, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from app.auth.models import User
from app.auth.policy import can
from app.core import clock
from app.core.text import nfc
from app.extensions import db
from app.notices import mail
from app.notices.messages import message_for, render
from app.notices.models import Notice, NoticeRecipient, NoticeSettings
from jobs.queues import enqueue_after_commit, redis_connection
from tenants.context import current_tenant_id
from tenants.page_versions import kept_under_page_version

DEFAULT_EXPIRY_REMINDER_DAYS = (90, 60, 30)
LATEST_EXPIRY_REMINDER_DAYS = 30  # never later than 30 days before expiry (issue 9)
MAX_ATTEMPTS = 5
# The sweep tries a failed notice again after 1, 5, 15, 60 minutes… (the job's own retries are in rq).
SWEEP_BACKOFF_MINUTES = (1, 5, 15, 60, 240)
DELIVER_JOB = "app.notices.jobs.deliver_notice"
DELIVER_PENDING_JOB = "app.notices.jobs.deliver_pending_notices"


class NoticeError(ValueError):
    """A notice that cannot be made as asked (a clear message, never a 500)."""


@dataclass
class NoticeDraft:
    """One notice of a set-wise creation (`notices_create_many`)."""

    subject_key: str
    occasion: str
    params: dict = field(default_factory=dict)
    user_ids: Iterable[int] = ()
    emails: Iterable[str] = ()


def _key_part(value, label: str, limit: int) -> str:
    text = nfc(str(value if value is not None else "")).strip()
    if "\x00" in text:
        raise NoticeError(_("Văn bản chứa ký tự không hợp lệ."))
    if not text or len(text) > limit:
        raise NoticeError(_("%(label)s phải có từ 1 đến %(limit)d ký tự.", label=label, limit=limit))
    return text


def _email(address: str) -> str:
    try:
        return validate_email(nfc(str(address)).strip(), check_deliverability=False).normalized
    except (EmailNotValidError, ValueError):
        raise NoticeError(_("Địa chỉ thư điện tử không hợp lệ: %(address)s", address=str(address)[:80])) from None


def valid_emails(emails: Iterable[str]) -> set[str]:
    """The usable addresses (a sweep skips a producer's malformed contact rather than fail the province)."""
    valid = set()
    for address in emails:
        try:
            valid.add(_email(address))
        except NoticeError:
            continue
    return valid


def _recipients(user_ids: Iterable[int], emails: Iterable[str], roles: Iterable[str]) -> tuple[list[int], list[str]]:
    ids = {int(i) for i in user_ids if i is not None}
    roles = tuple(roles)
    if roles:
        holds = or_(*(literal(role) == any_(User.roles) for role in roles))
        ids |= set(db.session.scalars(select(User.id).where(User.active.is_(True), holds)))
    if ids:  # only users of this province (the ORM scope), and only once each
        ids = set(db.session.scalars(select(User.id).where(User.id.in_(ids))))
    addresses = sorted({_email(e) for e in emails if e})
    return sorted(ids), addresses


def _checked(kind: str, template: str | None, params: dict | None) -> tuple[str, str, dict]:
    kind = _key_part(kind, "kind", 48)
    template = template or kind
    if message_for(template) is None:
        raise NoticeError(_("Không có mẫu thông báo %(name)s.", name=template[:48]))
    return kind, template, dict(params or {})


def notice_create(
    kind: str,
    subject_key: str,
    occasion: str,
    *,
    template: str | None = None,
    params: dict | None = None,
    user_ids: Iterable[int] = (),
    emails: Iterable[str] = (),
    roles: Iterable[str] = (),
) -> Notice:
    """The notice (kind, subject_key, occasion) of the current province, made once: asking again returns
    the same row and queues nothing. Recipients: users of the province (in-app list and their e-mail),
    bare e-mail addresses, and every active user holding one of `roles`. Delivery is queued after commit."""
    kind, template, params = _checked(kind, template, params)
    subject_key, occasion = _key_part(subject_key, "subject_key", 200), _key_part(occasion, "occasion", 64)
    ids, addresses = _recipients(user_ids, emails, roles)
    if not ids and not addresses:
        raise NoticeError(_("Thông báo không có người nhận."))
    tenant_id = current_tenant_id()
    notice_id = db.session.scalar(
        insert(Notice)
        .values(
            tenant_id=tenant_id,
            kind=kind,
            subject_key=subject_key,
            occasion=occasion,
            template=template,
            params=params,
            status="pending",
            attempts=0,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "kind", "subject_key", "occasion"])
        .returning(Notice.id)
    )
    if notice_id is not None:
        _add_recipients(tenant_id, {notice_id: (ids, addresses)})
        enqueue_after_commit(
            "notifications", DELIVER_JOB, tenant_id, notice_id, job_id=deliver_job_id(tenant_id, notice_id)
        )
    return db.session.scalar(
        select(Notice).where(Notice.kind == kind, Notice.subject_key == subject_key, Notice.occasion == occasion)
    )


def notices_create_many(kind: str, drafts: Iterable[NoticeDraft], *, template: str | None = None) -> int:
    """Set-wise creation for sweeps: one INSERT … ON CONFLICT DO NOTHING for every notice, one for their
    recipients, one delivery job for the province. Returns how many notices are new (0 on a re-run)."""
    kind, template, _params = _checked(kind, template, None)
    tenant_id = current_tenant_id()
    drafts = list(drafts)
    rows, wanted = [], {}
    for draft in drafts:
        subject_key = _key_part(draft.subject_key, "subject_key", 200)
        occasion = _key_part(draft.occasion, "occasion", 64)
        ids = sorted({int(i) for i in draft.user_ids if i is not None})
        addresses = sorted(valid_emails(draft.emails))
        if not ids and not addresses:
            continue
        rows.append(
            {
                "tenant_id": tenant_id,
                "kind": kind,
                "subject_key": subject_key,
                "occasion": occasion,
                "template": template,
                "params": dict(draft.params),
                "status": "pending",
                "attempts": 0,
            }
        )
        wanted[(subject_key, occasion)] = (ids, addresses)
    if not rows:
        return 0
    created = db.session.execute(
        insert(Notice)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["tenant_id", "kind", "subject_key", "occasion"])
        .returning(Notice.id, Notice.subject_key, Notice.occasion)
    ).all()
    if created:
        _add_recipients(tenant_id, {row.id: wanted[(row.subject_key, row.occasion)] for row in created})
        enqueue_after_commit("notifications", DELIVER_PENDING_JOB, tenant_id, job_id=None)
    return len(created)


def _add_recipients(tenant_id: int, by_notice: dict[int, tuple[list[int], list[str]]]) -> None:
    rows = [
        {"tenant_id": tenant_id, "notice_id": notice_id, "user_id": user_id, "email": None}
        for notice_id, (ids, _addresses) in by_notice.items()
        for user_id in ids
    ] + [
        {"tenant_id": tenant_id, "notice_id": notice_id, "user_id": None, "email": address}
        for notice_id, (_ids, addresses) in by_notice.items()
        for address in addresses
    ]
    if rows:
        db.session.execute(insert(NoticeRecipient).values(rows))
        _unread_forget(tenant_id, {user_id for ids, _a in by_notice.values() for user_id in ids})


def deliver_job_id(tenant_id: int, notice_id: int) -> str:
    return f"notice-{tenant_id}-{notice_id}"


# ---- delivery -----------------------------------------------------------------------------------


def _mails(notice: Notice) -> list[mail.Mail]:
    """One mail per address: users in their own language (their e-mail as it is now), bare addresses in
    the default language."""
    rows = db.session.execute(
        select(NoticeRecipient.email, User.email, User.locale, User.active)
        .select_from(NoticeRecipient)
        .outerjoin(User, User.id == NoticeRecipient.user_id)
        .where(NoticeRecipient.notice_id == notice.id)
        .order_by(NoticeRecipient.id)
    ).all()
    mails, seen = [], set()
    for address, user_email, locale, active in rows:
        to = address or (user_email if active else None)
        if not to or to.lower() in seen:
            continue
        seen.add(to.lower())
        subject, body = render(notice.template, notice.params, locale)
        mails.append(mail.Mail(to, subject, body, mail.message_id(notice.tenant_id, notice.id, len(mails))))
    return mails


def notice_deliver(notice_id: int) -> str:
    """Send one notice if nobody has: 'sent', or 'skipped' when it is already sent, being sent by another
    worker right now (its row is locked), or gave up. A failure is recorded (attempts, last error) and
    committed before it is raised again, so the job retries and the outbox shows why."""
    notice = db.session.scalar(
        select(Notice)
        .where(Notice.id == notice_id, Notice.status.in_(("pending", "failed")), Notice.attempts < MAX_ATTEMPTS)
        .with_for_update(skip_locked=True)
    )
    if notice is None:
        return "skipped"
    notice.attempts += 1
    notice.last_attempt_at = clock.now()
    try:
        transport = mail.send(_mails(notice))
    except Exception as error:
        notice.status = "failed"
        notice.last_error = f"{type(error).__name__}: {error}"[:2000]
        db.session.commit()
        raise
    notice.status, notice.transport, notice.sent_at, notice.last_error = "sent", transport, clock.now(), None
    return "sent"


def notices_due_ids(limit: int = 500) -> list[int]:
    """Notices the sweep should (re)try: pending ones, and failed ones whose backoff has passed."""
    now = clock.now()
    retry_due = [
        (Notice.attempts == attempts) & (Notice.last_attempt_at < now - timedelta(minutes=minutes))
        for attempts, minutes in enumerate(SWEEP_BACKOFF_MINUTES, start=1)
        if attempts < MAX_ATTEMPTS
    ]
    return list(
        db.session.scalars(
            select(Notice.id)
            .where(or_(Notice.status == "pending", (Notice.status == "failed") & or_(*retry_due)))
            .order_by(Notice.id)
            .limit(limit)
        )
    )


# ---- the in-app list and the outbox -------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _page(stmt, page: int, per_page: int) -> Page:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page = min(max(page, 1), max(1, -(-total // per_page)))
    return Page(db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all(), page, per_page, total)


@dataclass(frozen=True)
class Shown:
    notice: Notice
    subject: str
    body: str
    read_at: object = None
    recipient_id: int | None = None


def _shown(notice: Notice, locale: str | None, **extra) -> Shown:
    subject, body = render(notice.template, notice.params, locale)
    return Shown(notice, subject, body, **extra)


def inbox_page(user, page: int, per_page: int = 20, locale: str | None = None) -> Page:
    """The user's own notices, newest first (a recipient row is what the user may read and mark)."""
    stmt = (
        select(Notice, NoticeRecipient)
        .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
        .where(NoticeRecipient.user_id == user.id)
        .order_by(Notice.created_at.desc(), Notice.id.desc())
    )
    result = _page(stmt, page, per_page)
    items = [_shown(n, locale, read_at=r.read_at, recipient_id=r.id) for n, r in result.items]
    return Page(items, result.page, result.per_page, result.total)


# The bell's count is on every page: kept in Redis so a page view costs no statement for it. Any change
# of a user's notices drops the user's key (the next page counts again); the TTL bounds what a change
# racing a recount could leave stale.
UNREAD_TTL_SECONDS = 60


def _unread_key(tenant_id: int, user_id: int) -> str:
    return f"{current_app.config['RQ_QUEUE_PREFIX']}:notices:unread:{tenant_id}:{user_id}"


def _unread_forget(tenant_id: int, user_ids: Iterable[int]) -> None:
    keys = [_unread_key(tenant_id, user_id) for user_id in user_ids]
    if keys:
        redis_connection().delete(*keys)


def inbox_unread_count(user) -> int:
    # Kept under the province's page version, which moves after the commit of any change: a count taken while a
    # delivery was not yet committed is never shown after it (on a kept page, for PAGE_TTL_SECONDS).
    def count() -> int:
        return db.session.scalar(
            select(func.count(func.distinct(NoticeRecipient.notice_id))).where(
                NoticeRecipient.user_id == user.id, NoticeRecipient.read_at.is_(None)
            )
        )

    return int(kept_under_page_version(user.tenant_id, _unread_key(user.tenant_id, user.id), UNREAD_TTL_SECONDS, count))


def notice_mark_read(user, notice_id: int) -> int:
    """Mark one of the user's notices read. A notice of the province the user may see without being told
    (a province admin, in the outbox) is a no-op; any other id (another's, a missing one) is a LookupError (404)."""
    mine = db.session.scalar(
        select(func.count()).where(NoticeRecipient.notice_id == notice_id, NoticeRecipient.user_id == user.id)
    )
    if not mine:
        if can(user, "notices.outbox") and db.session.scalar(select(Notice.id).where(Notice.id == notice_id)):
            return 0
        raise LookupError(notice_id)
    _unread_forget(user.tenant_id, [user.id])
    return db.session.execute(
        update(NoticeRecipient)
        .where(
            NoticeRecipient.notice_id == notice_id,
            NoticeRecipient.user_id == user.id,
            NoticeRecipient.read_at.is_(None),
        )
        .values(read_at=clock.now())
    ).rowcount


def notices_mark_all_read(user) -> int:
    _unread_forget(user.tenant_id, [user.id])
    return db.session.execute(
        update(NoticeRecipient)
        .where(NoticeRecipient.user_id == user.id, NoticeRecipient.read_at.is_(None))
        .values(read_at=clock.now())
    ).rowcount


OUTBOX_STATUSES = ("pending", "sent", "failed")


def outbox_page(page: int, status: str | None = None, per_page: int = 20, locale: str | None = None) -> Page:
    """The province's notices as they were (or will be) sent, with their addresses and delivery state."""
    stmt = select(Notice).order_by(Notice.created_at.desc(), Notice.id.desc())
    if status in OUTBOX_STATUSES:
        stmt = stmt.where(Notice.status == status)
    result = _page(stmt, page, per_page)
    notices = [row[0] for row in result.items]
    addresses: dict[int, list[str]] = {n.id: [] for n in notices}
    if notices:
        for notice_id, address, user_email in db.session.execute(
            select(NoticeRecipient.notice_id, NoticeRecipient.email, User.email)
            .select_from(NoticeRecipient)
            .outerjoin(User, User.id == NoticeRecipient.user_id)
            .where(NoticeRecipient.notice_id.in_(addresses))
            .order_by(NoticeRecipient.id)
        ):
            addresses[notice_id].append(address or user_email)
    items = [(_shown(n, locale), addresses[n.id]) for n in notices]
    return Page(items, result.page, result.per_page, result.total)


# ---- the province's settings (`[notices]` of the province file) ---------------------------------


def expiry_reminder_days() -> tuple[int, ...]:
    """Days before expiry at which the producer is reminded, largest first."""
    days = db.session.scalar(select(NoticeSettings.expiry_reminder_days))
    return tuple(sorted(days or DEFAULT_EXPIRY_REMINDER_DAYS, reverse=True))


def checked_reminder_days(value) -> list[int]:
    """A province's reminder days: whole numbers of days, none later than 30 days before expiry."""
    if not isinstance(value, list) or not value or len(value) > 12:
        raise NoticeError(_("Ngày nhắc hạn phải là một danh sách từ 1 đến 12 số ngày."))
    days = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not LATEST_EXPIRY_REMINDER_DAYS <= item <= 3650:
            raise NoticeError(
                _(
                    "Ngày nhắc hạn phải là số ngày từ %(low)d đến 3650 trước ngày hết hiệu lực (không muộn hơn %(low)d ngày).",
                    low=LATEST_EXPIRY_REMINDER_DAYS,
                )
            )
        days.append(item)
    return sorted(set(days), reverse=True)


def notice_settings_save(days) -> NoticeSettings:
    days = checked_reminder_days(days)
    settings = db.session.scalar(select(NoticeSettings)) or NoticeSettings()
    settings.expiry_reminder_days = days
    db.session.add(settings)
    db.session.flush()
    return settings
