"""What a person at a terminal sees: a progress line on stderr and colour, both only on a TTY."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Mapping
from typing import TextIO

__all__ = ["Progress", "colourize", "wants_colour", "is_terminal"]

#: Redraw at most this often: a 10,000-name run must not spend its time on the terminal.
REDRAW_SECONDS = 0.1
#: Show nothing for runs that end sooner than this (a warm run, a handful of names).
QUIET_START_SECONDS = 0.3


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def wants_colour(stream: TextIO, env: Mapping[str, str]) -> bool:
    """Colour on a terminal unless NO_COLOR is set (no-color.org) or TERM is dumb."""
    if env.get("NO_COLOR", ""):
        return False
    if env.get("TERM", "") == "dumb":
        return False
    return is_terminal(stream)


class Progress:
    """``done/total`` with the rate and what we wait for, redrawn in place on one line.

    Costs nothing when not shown: the CLI makes one only for a terminal without ``-q``.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        waiting_for: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._total = 0
        self._stream = stream
        self._waiting_for = waiting_for
        self._clock = clock
        self._started = clock()
        self._last_draw = 0.0
        self._done = 0
        self._shown = False

    def update(self, done: int, total: int) -> None:
        self._done, self._total = done, total
        now = self._clock()
        if now - self._started < QUIET_START_SECONDS or now - self._last_draw < REDRAW_SECONDS:
            return
        self._last_draw = now
        self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self._done / max(now - self._started, 1e-6)
        line = f"sbom-enrich: {self._done}/{self._total} looked up · {rate:.0f}/s"
        if self._done < self._total:
            line += f" · waiting for {self._waiting_for}"
        self._stream.write("\r\x1b[2K" + line)
        self._stream.flush()
        self._shown = True

    def close(self) -> None:
        """Clear the line so the summary starts on a clean one."""
        if self._shown:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()
            self._shown = False


@functools.cache
def _styles() -> tuple[tuple[re.Pattern[str], str], ...]:
    # Compiled with the first coloured summary: a run on a pipe or with NO_COLOR never needs them.
    return (
        (re.compile(r"^(policy: FAILED.*)$", re.M), "\x1b[1;31m"),
        (re.compile(r"^(policy: passed)$", re.M), "\x1b[32m"),
        (re.compile(r"^(incomplete: .*)$", re.M), "\x1b[1;33m"),
        (re.compile(r"^(warning: .*)$", re.M), "\x1b[33m"),
        (re.compile(r"(?<= · )(quarantined)(?= |$)", re.M), "\x1b[31m"),
        (re.compile(r"(?<= · )(archived|deprecated|not-found)(?= |$)", re.M), "\x1b[33m"),
    )


def colourize(text: str) -> str:
    """The summary with the verdict and adverse statuses coloured (ANSI SGR)."""
    for pattern, style in _styles():
        text = pattern.sub(f"{style}\\g<1>\x1b[0m", text)
    return text
