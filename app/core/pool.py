"""Connections that sat idle are checked before use; busy ones are not.

SQLAlchemy's pool_pre_ping sends a round trip to PostgreSQL on every checkout, i.e. on every request. A
connection used moments ago is alive unless the server just went down, and then the request's error marks
the whole pool invalid (SQLAlchemy's disconnect handling) and the service answers 503 until it is back
(app/core/errors.py). So only a connection idle for IDLE_PING_AFTER seconds is pinged first.
"""

from __future__ import annotations

import time

from sqlalchemy import event, exc

IDLE_PING_AFTER = 10.0  # seconds


def ping_when_idle(engine) -> None:
    @event.listens_for(engine, "checkin")
    def _released(dbapi_connection, record):
        record.info["released_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy):
        released = record.info.get("released_at")
        if released is not None and time.monotonic() - released < IDLE_PING_AFTER:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError() from error  # the pool replaces it and tries again
