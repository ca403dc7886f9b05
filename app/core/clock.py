"""One clock for the whole app: `today()` is the date in Vietnam, `now()` an aware UTC datetime.

Tests move it with `frozen(date)` (or a datetime) instead of patching `date.today` in each module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
_frozen: datetime | None = None


def now() -> datetime:
    """The current moment, timezone-aware (UTC)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def today() -> date:
    """Today's date in Vietnam (a UTC date is yesterday until 07:00 there)."""
    return now().astimezone(ZONE).date()


@contextmanager
def frozen(moment: date | datetime) -> Iterator[datetime]:
    """Within the block the clock stands at `moment` (a date means noon of that day in Vietnam)."""
    global _frozen
    if isinstance(moment, datetime):
        at = moment if moment.tzinfo else moment.replace(tzinfo=ZONE)
    else:
        at = datetime.combine(moment, time(12), tzinfo=ZONE)
    previous, _frozen = _frozen, at.astimezone(UTC)
    try:
        yield _frozen
    finally:
        _frozen = previous
