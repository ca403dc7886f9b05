"""Configuration from the environment. Every setting has a safe development default."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def sqlalchemy_url(url: str) -> str:
    """Accept libpq-style URLs (postgresql://) and point SQLAlchemy at psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    ENV_NAME = os.environ.get("OCOP_ENV", "dev")
    SECRET_KEY = os.environ.get("SECRET_KEY") or secrets.token_hex(32)

    # The web app and workers connect as the app role (not owner, no BYPASSRLS);
    # the national office reads aggregates through its own role.
    SQLALCHEMY_DATABASE_URI = sqlalchemy_url(os.environ.get("DATABASE_URL", ""))
    NATIONAL_DATABASE_URL = sqlalchemy_url(os.environ.get("NATIONAL_DATABASE_URL", ""))
    # pre_ping: connections that died while PostgreSQL restarted are replaced, not used; connect_timeout:
    # an unreachable server gives a 503 in seconds, not a hung worker.
    # Idle connections are pinged before use (app/core/pool.py), not every checkout.
    SQLALCHEMY_ENGINE_OPTIONS = {"connect_args": {"connect_timeout": 5}}
    # Breakdown cells of the national statistics below this many products are shown as "<n".
    NATIONAL_SMALL_CELL = int(os.environ.get("NATIONAL_SMALL_CELL", "3"))
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL", "")
    # Where browsers reach storage, when it differs from the app's own endpoint (CSP connect-src).
    S3_PUBLIC_ENDPOINT_URL = os.environ.get("S3_PUBLIC_ENDPOINT_URL", "")
    S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID", "")
    S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY", "")
    S3_REGION = os.environ.get("S3_REGION", "us-east-1")
    S3_BUCKET = os.environ.get("S3_BUCKET", "ocop")
    # Canonical public address printed in certificate QR codes (e.g. https://ocop.gov.vn); else the request's host.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")
    # Unicode TrueType fonts with Vietnamese glyphs for certificate PDFs (Debian: fonts-dejavu-core).
    CERTIFICATE_FONT_DIR = os.environ.get("CERTIFICATE_FONT_DIR", "/usr/share/fonts/truetype/dejavu")
    STORAGE_QUOTA_BYTES = int(os.environ.get("STORAGE_QUOTA_BYTES", 20 * 1024**3))  # per tenant, unless set on it
    # A verification still pending after this long is re-queued by the reconciler (worker killed).
    DOCUMENT_VERIFY_STALLED_MINUTES = int(os.environ.get("DOCUMENT_VERIFY_STALLED_MINUTES", 15))
    UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", 50 * 1024**2))  # one evidence file
    # Presigned uploads per user: how many forms a minute window allows, and how many may wait unconfirmed.
    PRESIGN_RATE_LIMIT = os.environ.get("PRESIGN_RATE_LIMIT", "30 per 10 minutes")
    PRESIGN_OPEN_PER_USER = int(os.environ.get("PRESIGN_OPEN_PER_USER", 20))

    # Sessions live in Redis so that login can rotate the id and logout really ends them.
    SESSION_TYPE = "redis"
    SESSION_PERMANENT = True
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    SESSION_COOKIE_NAME = "ocop_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    SESSION_KEY_PREFIX = f"{ENV_NAME}:session:"
    FORCE_HTTPS = _bool("FORCE_HTTPS", False)

    # Evidence goes straight to storage; the largest body the app takes is an import workbook.
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead of a clock

    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")

    RATELIMIT_STORAGE_URI = REDIS_URL
    RATELIMIT_KEY_PREFIX = f"{ENV_NAME}:limits"
    RATELIMIT_HEADERS_ENABLED = True
    # A moving window: no burst of twice the limit across a fixed window's boundary.
    RATELIMIT_STRATEGY = "moving-window"
    # Login throttling (app/auth/throttle.py), failed attempts per window: per account and address
    # (then refused for that address), per account from all addresses (then each attempt waits a
    # growing delay), per address across every login page (then one attempt per delay).
    LOGIN_WINDOW_SECONDS = int(os.environ.get("LOGIN_WINDOW_SECONDS", 15 * 60))
    LOGIN_PAIR_FAILURES = int(os.environ.get("LOGIN_PAIR_FAILURES", 10))
    LOGIN_ACCOUNT_SOFT_FAILURES = int(os.environ.get("LOGIN_ACCOUNT_SOFT_FAILURES", 20))
    LOGIN_ACCOUNT_MAX_DELAY_SECONDS = int(os.environ.get("LOGIN_ACCOUNT_MAX_DELAY_SECONDS", 60))
    LOGIN_ADDRESS_FAILURES = int(os.environ.get("LOGIN_ADDRESS_FAILURES", 60))
    LOGIN_ADDRESS_DELAY_SECONDS = int(os.environ.get("LOGIN_ADDRESS_DELAY_SECONDS", 30))

    RQ_QUEUE_PREFIX = ENV_NAME
    INVITE_VALID_DAYS = 7
    # Whole signed-in pages kept in Redis while their province does not change (app/auth/page_cache.py).
    PAGE_CACHE = _bool("OCOP_PAGE_CACHE", True)

    # One JSON line per request and per security event on stderr (app/core/observability.py).
    LOG_JSON = os.environ.get("LOG_JSON", "1") != "0"
    # /metrics answers only a scraper that sends this bearer token; unset, it is a 404.
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
    # Notices by e-mail (app/notices/mail.py): without SMTP_HOST nothing is sent, the outbox page shows it.
    SMTP_HOST = os.environ.get("SMTP_HOST", "")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", 587))
    SMTP_USER = os.environ.get("SMTP_USER", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_FROM = os.environ.get("SMTP_FROM", "ocop@localhost")
    SMTP_TLS = os.environ.get("SMTP_TLS", "starttls")  # starttls | ssl | none
    SMTP_TIMEOUT = float(os.environ.get("SMTP_TIMEOUT", 30))


class TestConfig(Config):
    TESTING = True
    ENV_NAME = "test"
    SESSION_COOKIE_SECURE = False
    SESSION_KEY_PREFIX = "test:session:"
    RATELIMIT_KEY_PREFIX = "test:limits"
    RQ_QUEUE_PREFIX = "test"
    LOG_JSON = False  # tests read the log through their own handler (tests/ops/test_observability.py)
    SMTP_HOST = ""  # tests deliver into the outbox unless one points SMTP at its own server
