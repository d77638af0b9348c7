"""A gate that checked nothing does not pass: no real answer, a wrong index URL, refused indexes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run
from indexserver import IndexServer, ProjectSpec


def sbom(*purls: str) -> bytes:
    components = [{"type": "library", "name": p.split("/")[1].split("@")[0], "purl": p}
                  for p in purls]  # fmt: skip
    return json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}
    ).encode()


TWO = sbom("pkg:pypi/requests@2.32.0", "pkg:pypi/nose@1.3.7")


def incomplete_reasons(tmp_path: Path, run: Callable[[Path], Run]) -> tuple[Run, list[str]]:
    summary = tmp_path / "summary.json"
    done = run(summary)
    data = json.loads(summary.read_text())
    assert data["incomplete"] is (done.code == 3 or bool(data["incomplete_reasons"]))
    return done, data["incomplete_reasons"]


def test_a_wrong_index_path_is_incomplete_with_a_hint(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path
) -> None:
    root = index_server.url.removesuffix("simple/")  # the server's root: every page is a 404
    done, reasons = incomplete_reasons(
        tmp_path,
        lambda s: cli("enrich", "-", "--index-url", root, "--summary-json", str(s), stdin=TWO),
    )
    assert done.code == 3, done.stderr
    assert "policy: passed" not in done.stderr
    assert f"did you mean {root}simple/?" in done.stderr
    assert len(reasons) == 1 and "every project was not-found" in reasons[0]


def test_every_project_not_found_on_a_simple_path_asks_if_the_url_is_right(
    cli: Callable[..., Run], make_index_server: Callable[..., IndexServer]
) -> None:
    empty = make_index_server([ProjectSpec("something-else")])
    done = cli("enrich", "-", "--index-url", empty.url, stdin=TWO)
    assert done.code == 3 and "is the index URL right?" in done.stderr


def test_an_index_that_cannot_express_status_checked_nothing(
    cli: Callable[..., Run], make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    old = make_index_server([ProjectSpec("requests"), ProjectSpec("nose")], api_version="1.1")
    done, reasons = incomplete_reasons(
        tmp_path,
        lambda s: cli("enrich", "-", "--index-url", old.url, "--summary-json", str(s), stdin=TWO),
    )
    assert done.code == 3, done.stderr
    assert reasons and "cannot express project status" in reasons[0]
    assert "nothing was checked" in done.stderr
    assert cli("enrich", "-", "--index-url", old.url, "--allow-incomplete", stdin=TWO).code == 0


def test_refused_components_make_the_run_incomplete(
    cli: Callable[..., Run], index_server: IndexServer,
    make_index_server: Callable[..., IndexServer],
) -> None:  # fmt: skip
    other = make_index_server()
    source = sbom(f"pkg:pypi/nose@1.3.7?repository_url={other.url}")
    done = cli("enrich", "-", "--index-url", index_server.url, stdin=source)
    assert done.code == 3, done.stderr
    assert "1 component not checked: the purl names an index that is not allowed" in done.stderr
    assert other.stats.requests == 0


@pytest.mark.parametrize("fail_on", ["deprecated", "quarantined"])
def test_a_normal_run_still_passes_and_violations_still_win(
    cli: Callable[..., Run], index_server: IndexServer,
    make_index_server: Callable[..., IndexServer], fail_on: str,
) -> None:  # fmt: skip
    other = make_index_server()
    mixed = sbom("pkg:pypi/requests@2.32.0", "pkg:pypi/nose@1.3.7",
                 f"pkg:pypi/pycrypto@2.6.1?repository_url={other.url}")  # fmt: skip
    done = cli("enrich", "-", "--index-url", index_server.url, "--fail-on", fail_on, stdin=mixed)
    # nose is deprecated on the test index: a violation wins over the refused component.
    assert done.code == (1 if fail_on == "deprecated" else 3), done.stderr
    plain = cli("enrich", "-", "--index-url", index_server.url, stdin=TWO)
    assert plain.code == 0 and "policy: passed" in plain.stderr


def test_check_with_every_requirement_not_found_is_incomplete(
    check: Callable[..., Run], index_server: IndexServer, project: Path
) -> None:
    (project / "requirements.txt").write_text("no-such-thing-1\nno-such-thing-2\n")
    done = check("--index-url", index_server.url.removesuffix("simple/"))
    assert done.code == 3, done.stderr
    assert "did you mean" in done.stderr
