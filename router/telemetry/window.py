"""Windows of time for reports and rules: ``30m``, ``1h``, ``24h``, ``7d``, or since an ISO 8601 time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from router._exceptions import InvalidInputError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DEFAULT_WINDOW = "24h"  # reports cover at least the last hour by default


def parse_duration(text: object, *, field: str = "window") -> timedelta:
    """``90s``, ``30m``, ``1h``, ``7d``, ``2w`` as a positive duration; InvalidInputError naming ``field``."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None or float(match.group(1)) <= 0:
        raise InvalidInputError(
            f"{field} must be a positive duration such as 30m, 1h, 24h or 7d, got {text!r}"
        )
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


@dataclass(frozen=True)
class Window:
    """The half-open interval [start, end) in UTC."""

    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @classmethod
    def parse(cls, text: str, now: datetime) -> Window:
        """A duration ending now, or the time since an ISO 8601 moment (``2026-01-14T12:00Z``)."""
        if _DURATION.match(text):
            return cls(now - parse_duration(text), now)
        try:
            since = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInputError(
                f"window must be a duration (30m, 1h, 24h, 7d) or an ISO 8601 time, got {text!r}"
            ) from None
        since = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        if since >= now:
            raise InvalidInputError(f"window start {text!r} is not in the past")
        return cls(since.astimezone(UTC), now)

    def before(self, factor: int) -> Window:
        """The ``factor`` window lengths just before this one (a baseline)."""
        length = self.end - self.start
        return Window(self.start - factor * length, self.start)
