"""How a notice leaves: by SMTP when SMTP_HOST is set, else into the outbox (development and tests: the
outbox page shows what would have been sent, nothing leaves the machine)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr

from flask import current_app


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    message_id: str  # the same for every attempt of a notice: a receiving server can drop a repeat


def transport_name() -> str:
    return "smtp" if current_app.config.get("SMTP_HOST") else "outbox"


def message_id(tenant_id: int, notice_id: int, index: int) -> str:
    domain = (current_app.config.get("SMTP_FROM") or "ocop@localhost").rpartition("@")[2] or "localhost"
    return f"<notice-{tenant_id}-{notice_id}-{index}@{domain}>"


def send(mails: list[Mail]) -> str:
    """Send every mail of one notice in one SMTP session; returns the transport used. Raises on failure
    (the caller records it and the job retries)."""
    if transport_name() == "outbox" or not mails:
        return "outbox"
    cfg = current_app.config
    host, port, tls = cfg["SMTP_HOST"], int(cfg.get("SMTP_PORT") or 25), (cfg.get("SMTP_TLS") or "").lower()
    timeout = float(cfg.get("SMTP_TIMEOUT", 30))
    if tls == "ssl":
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if tls == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if cfg.get("SMTP_USER"):
            smtp.login(cfg["SMTP_USER"], cfg.get("SMTP_PASSWORD") or "")
        for mail in mails:
            message = EmailMessage()
            message["From"] = formataddr(("OCOP", cfg.get("SMTP_FROM") or "ocop@localhost"))
            message["To"] = mail.to
            message["Subject"] = mail.subject
            message["Message-ID"] = mail.message_id
            message.set_content(mail.body)
            smtp.send_message(message)
    return "smtp"
