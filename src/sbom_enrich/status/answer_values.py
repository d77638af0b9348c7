"""Values read from a remote answer's headers and JSON body: a malformed one never raises past it.

Every header parser here reads what HTTP allows and nothing more: ``1*DIGIT`` is ASCII digits
(``"²"`` and ``"١"`` are digits to :meth:`str.isdigit` and :func:`int`, never to HTTP), a number
is bounded before it is converted, and a date without a zone is UTC. What is not such a value is
``None``, and the caller says what that means (a ``Retry-After`` not sent, a stale answer).
:func:`load_json` raises only :class:`ValueError` for a body that is not JSON, whatever the
reason: the one exception its callers catch.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

__all__ = ["DELTA_SECONDS_CAP", "decimal", "http_date", "load_json", "seconds_until"]

#: RFC 9111 section 1.2.2: a delta-seconds greater than a cache can hold is taken as 2**31.
DELTA_SECONDS_CAP = 2**31
#: Longest text read as an HTTP date (the IMF-fixdate form is 29 characters).
_MAX_DATE_LENGTH = 100


def decimal(text: str, cap: int) -> int | None:
    """``text`` (whitespace around it aside) as HTTP's ``1*DIGIT``, at most ``cap``; None when
    it holds anything but ASCII digits. A number longer than ``cap`` is ``cap``: no ``int()``
    of thousands of digits (ValueError) nor a float of one past 1e308 (OverflowError)."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()):  # ASCII and isdigit: only "0" to "9"
        return None
    significant = text.lstrip("0")
    if len(significant) > len(str(cap)):
        return cap
    return min(int(significant or "0"), cap)


def http_date(text: str) -> datetime | None:
    """An HTTP date (RFC 9110 section 5.6.7, obsolete forms included) as an aware time; None
    when it is none. A date without a zone, or with ``-0000`` (RFC 5322: UTC, the local zone
    unknown), is UTC: :func:`email.utils.parsedate_to_datetime` leaves both naive, and a naive
    time cannot be compared with an aware one (TypeError)."""
    text = text.strip()
    if not text or len(text) > _MAX_DATE_LENGTH:
        return None
    import email.utils  # ~3 ms, for the rare date form

    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, OverflowError, IndexError):
        # ValueError: no date, or a day, hour or zone out of range; OverflowError: a year of
        # twenty digits; TypeError: Python 3.10's answer to text that is no date at all.
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def seconds_until(text: str, now: float) -> float | None:
    """A ``Retry-After`` value (RFC 9110 section 10.2.3) as seconds to wait from ``now`` (epoch
    seconds): its delta-seconds (capped as RFC 9111 caps them), or the time to its HTTP date (0
    once that is past); None when it is neither. The caller bounds the wait it accepts."""
    delta = decimal(text, DELTA_SECONDS_CAP)
    if delta is not None:
        return float(delta)
    moment = http_date(text)
    if moment is None:
        return None
    try:
        return max(0.0, moment.timestamp() - now)
    except (OverflowError, ValueError):  # a calendar edge this platform cannot count
        return None


def load_json(body: bytes | str) -> object:
    """``json.loads(body)``, raising only :class:`ValueError` for a body that does not decode.

    json's own errors are ValueErrors (not JSON, not UTF-8/16/32, an integer past Python's
    4,300 digits) except one: nesting past the recursion limit (a few hundred kB of ``[[[[``)
    raises RecursionError, which went past every caller that caught ValueError: exit 5 for
    the run, or a traceback in the log.
    """
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
