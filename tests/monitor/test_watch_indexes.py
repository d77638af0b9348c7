"""Each locked package is watched on the index its lock entry names, as ``check`` asks it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import diskcache
import pytest
from receivers import HttpReceiver

from cli_runner import Run
from indexserver import IndexServer, ProjectSpec, release
from sbom_enrich.monitor.indexes import IndexRules
from sbom_enrich.monitor.notify import notice_text

USER, PASSWORD = "corp", "pr1vate-S3CRET"


@pytest.fixture
def private_index() -> Iterator[IndexServer]:
    """A private index needing credentials: its own 'alpha' (not PyPI's) and an internal name."""
    projects = [
        ProjectSpec("alpha", files=release("alpha", "9.0")),
        ProjectSpec("corp-internal", files=release("corp-internal", "1.0")),
    ]
    with IndexServer(projects, auth=(USER, PASSWORD)) as server:
        yield server


def uv_lock(public: str, private: str) -> str:
    """A lock whose resolution took 'alpha' from both indexes (a forked resolution) and an
    internal name from the private one only."""
    return f"""\
version = 1
requires-python = ">=3.10"

[[package]]
name = "alpha"
version = "1.0"
source = {{ registry = "{public.rstrip("/")}" }}

[[package]]
name = "alpha"
version = "9.0"
source = {{ registry = "{private.rstrip("/")}" }}

[[package]]
name = "corp-internal"
version = "1.0"
source = {{ registry = "{private.rstrip("/")}" }}

[[package]]
name = "beta"
version = "2.0"
source = {{ registry = "{public.rstrip("/")}" }}
"""


def with_credentials(url: str) -> str:
    return url.replace("http://", f"http://{USER}:{PASSWORD}@")


def test_a_locked_package_is_watched_on_its_own_index_with_its_credentials(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    private_index: IndexServer,
    hook: HttpReceiver,
    tmp_path: Path,
    db_url: str,
) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(uv_lock(index_server.url, private_index.url))
    assert monitor("add", "--project", "shop", str(lock)).code == 0
    listed = json.loads(monitor("list", "--json").stdout)
    assert sorted((n["name"], n["version"], n["index"]) for n in listed[0]["names"]) == [
        ("alpha", "1.0", index_server.url),
        ("alpha", "9.0", private_index.url),
        ("beta", "2.0", index_server.url),
        ("corp-internal", "1.0", private_index.url),
    ]

    # The lock's index is asked (the user's own lock names it), never PyPI in its place; without
    # its credentials it answers 401: a failed lookup, not a "not-found" baseline.
    without = monitor("run", "--webhook", hook.url)
    assert without.code == 3, without.stderr
    assert private_index.stats.unauthorized == 2
    # Not allowed, the private index is the lock's choice alone: as `check` does, the names
    # it serves are asked on the configured index too, for a quarantine there (that answer
    # is never taken for the private project's).
    assert set(index_server.stats.by_project) == {"alpha", "beta", "corp-internal"}

    # With the credentials configured for that index (--allow-index with them), as `check`.
    run = lambda: monitor(  # noqa: E731
        "run", "--webhook", hook.url, "--allow-index", with_credentials(private_index.url)
    )
    first = run()
    assert first.code == 0, first.stderr
    assert "2 new baselines" in first.stderr  # the public two were taken by the run before
    assert set(private_index.stats.by_project) == {"alpha", "corp-internal"}
    # Allowed, it is the user's: corp-internal is asked there only (never on PyPI).
    assert index_server.stats.by_project["corp-internal"] == 1

    # The private 'alpha' is archived; PyPI's 'alpha' is not: one notice, for the private one.
    private_index.set_status("alpha", "archived", "use corp-alpha")
    second = run()
    assert second.code == 0, second.stderr
    (event,) = hook.events()
    assert (event["name"], event["kind"], event["watched_index"]) == (
        "alpha",
        "archived",
        private_index.url,
    )
    assert event["used_by"] == [{"project": "shop", "file": str(lock.resolve()), "version": "9.0"}]
    assert PASSWORD not in json.dumps(event)

    # And the other way round: PyPI's 'alpha' disappears, the private one stays archived.
    index_server.remove("alpha")
    assert run().code == 0
    kinds = sorted((e["kind"], e["watched_index"]) for e in hook.events())
    assert kinds == [("archived", private_index.url), ("not-found", None)]

    status = json.loads(monitor("status", "--json").stdout)["adverse"]
    assert sorted((a["name"], a["version"], a["index"], a["status"]) for a in status) == [
        ("alpha", "1.0", None, "not-found"),
        ("alpha", "9.0", private_index.url, "archived"),
    ]
    text = monitor("status").stdout.decode()
    assert f"alpha==9.0 (from {private_index.url})  archived: use corp-alpha" in text
    history = monitor("history", "alpha").stdout.decode()
    assert f"alpha (from {private_index.url})  archived" in history
    # Credentials are used, never stored.
    if db_url.startswith("sqlite:///"):
        assert PASSWORD.encode() not in Path(db_url.removeprefix("sqlite:///")).read_bytes()


def test_a_purl_index_needs_allow_index_and_is_then_its_own_item(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    private_index: IndexServer,
    tmp_path: Path,
) -> None:
    """An SBOM's purl ``repository_url`` is asked only when allowed (as ``enrich``): a lock the
    user registered is trusted to name indexes, an SBOM from elsewhere is not."""
    components = [
        {"type": "library", "name": "alpha", "purl": "pkg:pypi/alpha@1.0"},
        {
            "type": "library",
            "name": "alpha",
            "purl": f"pkg:pypi/alpha@9.0?repository_url={private_index.url}",
        },
    ]
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(bom))
    assert monitor("add", "--project", "shop", str(path)).code == 0
    refused = monitor("run")
    assert refused.code == 3
    assert f"alpha from {private_index.url}" in refused.stderr
    assert private_index.stats.requests == 0
    allowed = monitor("run", "--allow-index", with_credentials(private_index.url))
    assert allowed.code == 0, allowed.stderr
    assert "2 names checked" in allowed.stderr
    assert set(private_index.stats.by_project) == {"alpha"}


def test_another_spelling_of_the_configured_index_is_one_watched_item(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    tmp_path: Path,
) -> None:
    """A lock that spells the configured index its own way (scheme case, no trailing slash)
    took it for another index: a second watched item, asked twice, cached twice, and two
    notices for one change."""
    shouting = index_server.url.replace("http://", "HTTP://").rstrip("/")
    lock = tmp_path / "uv.lock"
    lock.write_text(
        'version = 1\nrequires-python = ">=3.10"\n\n[[package]]\nname = "alpha"\n'
        f'version = "1.0"\nsource = {{ registry = "{shouting}" }}\n'
    )
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("alpha==1.0\n")
    assert monitor("add", "--project", "shop", str(lock), str(requirements)).code == 0

    first = monitor("run", "--webhook", hook.url)
    assert first.code == 0, first.stderr
    assert "1 names checked" in first.stderr
    assert index_server.stats.by_project == {"alpha": 1}
    with diskcache.Cache(str(tmp_path / "cache")) as cache:
        assert [key.rsplit("|", 2)[1:] for key in cache] == [[index_server.url, "alpha"]]

    index_server.set_status("alpha", "archived")
    assert monitor("run", "--webhook", hook.url).code == 0
    (event,) = hook.events()
    assert (event["kind"], event["watched_index"]) == ("archived", None)
    assert sorted(u["file"] for u in event["used_by"]) == sorted(
        str(p.resolve()) for p in (lock, requirements)
    )


def test_spellings_of_one_index_are_one_key() -> None:
    rules = IndexRules("https://pypi.org/simple/")
    private = [
        "http://Priv.Example:80/simple",
        "HTTP://priv.example/simple/",
        "http://priv.example:/simple//",
    ]
    assert {rules.key(url) for url in private} == {"http://priv.example/simple/"}
    assert {
        rules.key(url) for url in ("HTTPS://PyPI.org:443/simple", "https://pypi.org/simple")
    } == {""}


def test_a_lock_name_sent_to_another_index_is_watched_for_its_quarantine_here(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    tmp_path: Path,
) -> None:
    """A hostile lock sends "mal" and "beta" to an index of its own that calls them active.
    As `check` asks their names on the configured index too, the monitor watches them there:
    the configured index's quarantine of "mal" is a notice, its archiving of "beta" (a
    namesake's business) is not; the lifting of the quarantine is one too."""
    projects = [
        ProjectSpec("mal", files=release("mal", "0.1")),
        ProjectSpec("beta", files=release("beta", "2.0")),
        ProjectSpec("corp-internal", files=release("corp-internal", "1.0")),
    ]
    with IndexServer(projects) as hostile:
        lock = tmp_path / "uv.lock"
        lock.write_text(
            'version = 1\nrequires-python = ">=3.10"\n'
            + "".join(
                f'\n[[package]]\nname = "{name}"\nversion = "{version}"\n'
                f'source = {{ registry = "{hostile.url}" }}\n'
                for name, version in (("mal", "0.1"), ("beta", "2.0"), ("corp-internal", "1.0"))
            )
        )
        assert monitor("add", "--project", "shop", str(lock)).code == 0
        first = monitor("run", "--webhook", hook.url)
        # corp-internal is not on the configured index: its 404 there is no news, nor a sign
        # of a wrong index URL (most names a private index serves are not on PyPI).
        assert first.code == 0, first.stderr
        assert "3 names checked" in first.stderr
        assert set(index_server.stats.by_project) == {"mal", "beta", "corp-internal"}
        assert set(hostile.stats.by_project) == {"mal", "beta", "corp-internal"}

        index_server.set_status("mal", "quarantined", "Reported as malware")
        index_server.set_status("beta", "archived")
        second = monitor("run", "--webhook", hook.url)
        assert second.code == 0, second.stderr
        (event,) = hook.events()
        assert (event["name"], event["kind"], event["watched_index"], event["off_index"]) == (
            "mal",
            "quarantined",
            None,
            "index",
        )
        assert event["reason"] == "Reported as malware"
        assert event["used_by"] == [
            {
                "project": "shop",
                "file": str(lock.resolve()),
                "version": "0.1",
                "installed_from": hostile.url,
            }
        ]

        assert f"Installed from another index ({hostile.url}): this is the status" in (
            notice_text(event)
        )

        # `status` shows it for the file that installs it (beta's archiving: not at all).
        text = monitor("status").stdout.decode()
        assert (
            f"mal==0.1 (from {hostile.url})  quarantined on the configured index, installed "
            "from another index: Reported as malware"
        ) in text
        assert "beta" not in text
        [adverse] = json.loads(monitor("status", "--json").stdout)["adverse"]
        assert (adverse["name"], adverse["status"], adverse["index"], adverse["off_index"]) == (
            "mal",
            "quarantined",
            None,
            "index",
        )
        assert adverse["installed_from"] == hostile.url

        index_server.set_status("mal", "active")
        assert monitor("run", "--webhook", hook.url).code == 0
        assert [(e["name"], e["kind"]) for e in hook.events()] == [
            ("mal", "quarantined"),
            ("mal", "quarantine-lifted"),
        ]

        # An --allow-index index is the user's, not the lock's: its names are not asked twice.
        index_server.reset_stats()
        assert monitor("run", "--allow-index", hostile.url).code == 0
        assert index_server.stats.by_project == {}
