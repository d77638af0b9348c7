"""Version facts compare versions exactly as packaging does, with or without packaging loaded."""

from __future__ import annotations

import itertools
import random
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from packaging.version import InvalidVersion, Version

from sbom_enrich.status.model import (
    ProjectStatus,
    StatusRecord,
    VersionFacts,
    _version_key,
    version_facts,
)

#: Plain releases (the shortcut's), and every PEP 440 part and slip around them.
SPELLINGS = [
    *("0", "00", "0.0", "0.0.0", "1", "01", "1.0", "01.00", "1.0.0", "1.00.0", "1.0.1"),
    *("1.1", "1.10", "1.01", "10", "2", "2.0", "0.1", "0.10.0", "007.0", "1.0.0.0.0.0"),
    *("v1.0", "V1.0", "v01", " 1.0", "1.0 ", "\t1.0\n", "1.0\n", "\n1", "0!1.0", "0!01"),
    *("1!1.0", "00!1.0", "1.0a1", "1.0a01", "1.0.0a1", "1.0alpha1", "1.0-alpha.1", "1.0A1"),
    *("1.0a", "1.0b2", "1.0rc1", "1.0c1", "1.0pre1", "1.0preview1", "1.0.post0", "1.0-0"),
    *("1.0post", "1.0.post", "1.0-post0", "1.0r0", "1.0rev0", "1.0.dev0", "1.0dev", "1.0-dev"),
    *("1.0.dev", "1.0a1.post2.dev3", "1.0+local", "1.0+LOCAL", "1.0+0", "1.0+00", "1.0.0+local"),
    *("1.0+a.b", "1.0+a-b", "1.0+a_b", "1.0_0", "1.0.0.post0.dev0", "v1.0.0+x.1"),
    # Not versions: packaging refuses them, so they equal only their own spelling.
    *("", " ", "abc", "1.0.", ".1", "1..0", "1.0-", "1.0+", "1.0 a", "+1", "-1", "1e3", "1_0"),
    *("1,0", "1.0.x", "latest", "1.0+", "1.0++a", "v", "vv1", "1 0", "0x10", "1.0\x00"),
    # Digits of other scripts: str.isdigit and \\d take them, PEP 440 does not.
    *("\u0661.\u0660", "\uff11.\uff10", "\u00b2", "1.\u0660", "\u0967"),
    # Numbers past Python's 4,300-digit int limit: packaging fails on them.
    *("1" * 5000, "1." + "9" * 5000, "v" + "2" * 4400, "0" * 4301, "1" * 4300),
]


def packaging_equal(one: str, other: str) -> bool:
    """What the facts must say: the same spelling, or equal Versions by packaging."""
    if one == other:
        return True
    try:
        return Version(one) == Version(other)
    except (InvalidVersion, ValueError):
        return False


def generated(count: int, seed: int) -> list[str]:
    """Random spellings built from PEP 440's parts, valid and not."""
    rng = random.Random(seed)
    parts = {
        "prefix": ["", "", "", "v", " ", "V"],
        "epoch": ["", "", "", "0!", "1!", "00!"],
        "pre": ["", "", "", "a1", "b0", "rc2", ".alpha1", "-c1", "a"],
        "post": ["", "", "", ".post0", "-1", "post2", ".r1"],
        "dev": ["", "", "", ".dev0", "dev1", "-dev"],
        "local": ["", "", "", "", "+x", "+0", "+a.1"],
        "suffix": ["", "", "", "", " ", "\n", ".", "x"],
    }
    out = []
    for _ in range(count):
        release = ".".join(
            rng.choice(["0", "1", "00", "01", "2", "10"]) for _ in range(rng.randint(1, 4))
        )
        pick = {part: rng.choice(choices) for part, choices in parts.items()}
        out.append(
            pick["prefix"] + pick["epoch"] + release + pick["pre"] + pick["post"]
            + pick["dev"] + pick["local"] + pick["suffix"]
        )  # fmt: skip
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_spellings_compare_as_packaging_compares_them(seed: int) -> None:
    spellings = SPELLINGS + generated(250, seed)
    wrong = [
        (one, other)
        for one, other in itertools.product(spellings, repeat=2)
        if (one == other or (key := _version_key(one)) is not None and key == _version_key(other))
        != packaging_equal(one, other)
    ]
    assert wrong == []


def test_the_plain_releases_are_compared_without_packagings_help() -> None:
    # The shortcut's own answers, checked against packaging's on the cases it takes.
    assert _version_key("1.0") == _version_key("1") == _version_key("01.0.00") == (1,)
    assert _version_key("0") == _version_key("0.0") == ()
    assert _version_key("1.10") != _version_key("1.1")
    assert _version_key("1" * 5000) is None
    assert _version_key("\u0661.\u0660") is None


def record(
    versions: tuple[str, ...] | None, yanked: dict[str, str], **extra: object
) -> StatusRecord:
    return StatusRecord(
        name="demo",
        status=extra.pop("status", ProjectStatus.ACTIVE),  # type: ignore[arg-type]
        index_url="https://i/simple/",
        checked_at=datetime(2026, 12, 1, tzinfo=timezone.utc),
        versions=versions,
        yanked=yanked,
    )


def expected_facts(rec: StatusRecord, version: str | None) -> VersionFacts:
    """The facts by the rule written out plainly, packaging deciding every comparison."""
    if not version:
        return VersionFacts(version="")
    yank = next(
        (reason for listed, reason in rec.yanked.items() if packaging_equal(listed, version)), None
    )
    missing = (
        rec.versions is not None
        and rec.status is not ProjectStatus.NOT_FOUND
        and not any(packaging_equal(listed, version) for listed in rec.versions)
    )
    return VersionFacts(
        version=version, yanked=yank is not None, yank_reason=yank or None, missing=missing
    )


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_version_facts_are_packagings_answer_for_random_records(seed: int) -> None:
    rng = random.Random(seed)
    spellings = SPELLINGS + generated(120, seed)
    wrong = []
    for _ in range(3000):
        listed = tuple(rng.sample(spellings, rng.randint(0, 6)))
        yanked = {v: rng.choice(["", "broken", "CVE"]) for v in rng.sample(spellings, 3)}
        yanked = dict(itertools.islice(yanked.items(), rng.randint(0, 3)))
        status = rng.choice([ProjectStatus.ACTIVE, ProjectStatus.NOT_FOUND])
        rec = record(None if rng.random() < 0.1 else listed, yanked, status=status)
        version = rng.choice([*spellings, None, *listed])
        if version_facts(rec, version) != expected_facts(rec, version):
            wrong.append((rec.versions, rec.yanked, status, version))
    assert wrong == []


def test_the_first_equal_yank_gives_the_reason() -> None:
    rec = record(("1.0", "2.0"), {"1.0.0": "first", "1.0": "second", "1": ""})
    assert version_facts(rec, "1.0") == VersionFacts("1.0", yanked=True, yank_reason="first")
    assert version_facts(rec, "1") == VersionFacts("1", yanked=True, yank_reason="first")
    assert version_facts(rec, "v1") == VersionFacts("v1", yanked=True, yank_reason="first")
    assert version_facts(rec, "1.0+local") == VersionFacts("1.0+local", missing=True)
    assert version_facts(rec, "2.00") == VersionFacts("2.00")


def test_plain_releases_are_compared_without_importing_packaging() -> None:
    # packaging.version is ~3 ms of import and regex compiling; an index of plain releases
    # with yanks (1,000 of a warm 10,000-component run) never needs it.
    code = (
        "import sys\n"
        "from datetime import datetime, timezone\n"
        "from sbom_enrich.status.model import ProjectStatus, StatusRecord, version_facts\n"
        "r = StatusRecord('d', ProjectStatus.ACTIVE, 'u', datetime.now(timezone.utc),\n"
        "    versions=('1.0', '1.1', '2.0.0'), yanked={'1.1': 'bad', '2.0': ''})\n"
        "facts = [version_facts(r, v) for v in ('1', '1.1.0', '2', '3.0', '1.0')]\n"
        "assert [(f.yanked, f.missing) for f in facts] == [\n"
        "    (False, False), (True, False), (True, False), (False, True), (False, False)], facts\n"
        "assert 'packaging.version' not in sys.modules, 'packaging imported'\n"
        "version_facts(r, 'v1.0')\n"
        "assert 'packaging.version' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
