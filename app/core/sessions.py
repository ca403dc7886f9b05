"""Server-side sessions (Flask-Session, Redis) whose expiry slides without a Redis write on every request.

Flask-Session rewrites the session and its cookie on every request of a permanent session
(SESSION_REFRESH_EACH_REQUEST): one Redis SET and a Set-Cookie per page view. Refreshing once every few
minutes keeps the same sliding expiry (8 hours, give or take REFRESH_AFTER) for a fraction of the writes.
"""

from __future__ import annotations

import time

REFRESH_AFTER = 300  # seconds between two refreshes of an unchanged session
_STAMP = "_refreshed"


class _RefreshNowAndThen:
    def should_set_storage(self, app, session) -> bool:
        if session.modified:
            return True
        if not app.config["SESSION_REFRESH_EACH_REQUEST"]:
            return False
        now = int(time.time())
        if now - session.get(_STAMP, 0) < REFRESH_AFTER:
            return False
        session[_STAMP] = now  # marks it modified: stored again and its cookie's expiry moved on
        return True

    def should_set_cookie(self, app, session) -> bool:
        return session.modified


def refresh_sessions_now_and_then(app) -> None:
    """Give the app's session interface (set up by Flask-Session's init_app) the refresh above."""
    interface = app.session_interface
    interface.__class__ = type(f"Sliding{type(interface).__name__}", (_RefreshNowAndThen, type(interface)), {})
