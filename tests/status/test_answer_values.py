"""Header values and JSON bodies from a remote server: what HTTP allows is read, no more."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sbom_enrich.status.answer_values import (
    DELTA_SECONDS_CAP,
    decimal,
    http_date,
    load_json,
    seconds_until,
)

NOW = datetime(2026, 12, 6, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("600", 600),
        (" 42 ", 42),
        ("007", 7),
        ("0" * 5000 + "9", 9),  # leading zeros are no magnitude (int() refuses 5,001 digits)
        ("1" + "0" * 400, DELTA_SECONDS_CAP),  # a float of it overflowed
        ("9" * 5000, DELTA_SECONDS_CAP),  # int() of it raised ValueError
        (str(DELTA_SECONDS_CAP + 1), DELTA_SECONDS_CAP),
        # Digits to str.isdigit() and int(), not to HTTP: superscript, Arabic-Indic, fullwidth.
        ("\u00b2", None),
        ("\u0661\u0662", None),
        ("\uff11\uff12", None),
        ("1\u00b2", None),
        ("", None),
        ("-5", None),
        ("+5", None),
        ("1.5", None),
        ("1_000", None),
        ("0x10", None),
    ],
)
def test_decimal_reads_ascii_digits_only_and_bounded(text: str, expected: int | None) -> None:
    assert decimal(text, DELTA_SECONDS_CAP) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sun, 06 Dec 2026 00:00:30 GMT", 30.0),
        ("Sunday, 06-Dec-26 00:00:30 GMT", 30.0),  # RFC 850, obsolete but allowed
        ("Sun Dec  6 00:00:30 2026", 30.0),  # asctime: no zone, so UTC
        ("Sun, 06 Dec 2026 00:00:30 -0000", 30.0),  # RFC 5322 "-0000": UTC (naive before)
        ("Sun, 06 Dec 2026 01:00:30 +0100", 30.0),
        ("Sat, 05 Dec 2026 00:00:00 GMT", 0.0),  # past: no wait
        ("Mon, 01 Jan 2024 00:00:00 -0000", 0.0),
        ("120", 120.0),
        ("\u00b2", None),
        ("soon", None),
        ("Mon, 99 Jan 2024 00:00:00 GMT", None),  # ValueError inside
        ("Mon, 01 Jan 99999999999999999999 00:00:00 GMT", None),  # OverflowError inside
        ("Mon, 01 Jan 2024 00:00:00 +9999", None),  # a zone beyond a day
        ("Mon, 01 Jan 2024 00:00:00 GMT" + " " * 200 + "x", None),  # bounded before parsing
    ],
)
def test_seconds_until_reads_delta_seconds_or_a_date(text: str, expected: float | None) -> None:
    assert seconds_until(text, NOW) == expected


def test_a_date_without_a_zone_is_utc() -> None:
    moment = http_date("Mon, 01 Jan 2024 00:00:00 -0000")
    assert moment == datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert moment is not None and moment.tzinfo is not None


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 200_000 + b"]" * 200_000,  # RecursionError before
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b"{not json",
        b"\xff\xfe\x00",
        b"1" * 5000,  # an integer past Python's 4,300 digits
        "[" * 200_000,
    ],
)
def test_load_json_raises_only_value_error(body: bytes | str) -> None:
    with pytest.raises(ValueError):
        load_json(body)


def test_load_json_reads_json() -> None:
    assert load_json(b'{"info": {"name": "x"}}') == {"info": {"name": "x"}}
    assert load_json(b"null") is None
