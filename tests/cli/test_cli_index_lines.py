"""The summary's lines about the index: in words, a guess only when it fits, one per problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cli_runner import Run
from indexserver import Fault, IndexServer, ProjectSpec, release


def specs(*names: str, **fields: object) -> list[ProjectSpec]:
    return [ProjectSpec(n, files=release(n, "1.0"), **fields) for n in names]  # type: ignore[arg-type]


def run_check(cli: Callable[..., Run], index: IndexServer, tmp_path: Path, *names: str) -> Run:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("".join(f"{n}==1.0\n" for n in names))
    return cli("check", str(requirements), env={"SBOM_ENRICH_INDEX_URL": index.url})


def test_an_index_that_sends_no_api_version_is_told_in_words_without_a_mirror_guess(
    cli: Callable[..., Run], make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    index = make_index_server(specs("alpha", "beta"), api_version=None)
    done = run_check(cli, index, tmp_path, "alpha", "beta")
    assert "2 projects are unknown because the index cannot express project status" in done.stderr
    assert "it sends no Simple API version" in done.stderr
    assert "none sent" not in done.stderr
    assert "mirror" not in done.stderr  # an old index throughout is not a stale mirror


def test_the_mirror_guess_comes_when_the_same_index_also_speaks_1_4(
    cli: Callable[..., Run], make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    index = make_index_server([*specs("fresh"), *specs("stale", api_version="1.0")])
    done = run_check(cli, index, tmp_path, "fresh", "stale")
    assert "it speaks Simple API 1.0" in done.stderr
    assert "a mirror that serves some old pages?" in done.stderr


def test_a_problem_many_lookups_share_is_one_line(
    cli: Callable[..., Run], make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    names = ["a-one", "b-two", "c-three", "d-four", "e-five", "f-six", "g-seven"]
    index = make_index_server(specs(*names, "fine"))
    for name in names:
        index.inject(name, Fault.SERVER_ERROR)
    done = run_check(cli, index, tmp_path, *names, "fine")
    assert done.code == 3, done.stderr
    lines = [line for line in done.stderr.splitlines() if "HTTP 500" in line]
    assert len(lines) == 1, done.stderr
    assert f"lookup failed for 7 projects on {index.url}: HTTP 500 from the index" in lines[0]
    assert "(a-one, b-two, c-three, d-four, e-five and 2 more)" in lines[0]
    assert "incomplete: 7 lookups failed" in done.stderr


def test_the_markdown_report_also_gives_one_line_per_shared_problem(
    cli: Callable[..., Run], make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    names = ["a-one", "b-two", "c-three"]
    index = make_index_server(specs(*names, "fine"))
    for name in names:
        index.inject(name, Fault.SERVER_ERROR)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("".join(f"{n}==1.0\n" for n in (*names, "fine")))
    report = tmp_path / "report.md"
    cli("check", str(requirements), "--report", str(report),
        env={"SBOM_ENRICH_INDEX_URL": index.url})  # fmt: skip
    text = report.read_text()
    assert text.count("HTTP 500") == 1, text
    assert "lookup failed for 3 projects on" in text
