"""Requirements lines built to make a parser slow: each read in one pass, one result or problem.

The sizes are far beyond what the old quadratic code finished within the test timeout (its
time grew with the square of the line: 30,000 spaces took 23 s, 200,000 "[" over a minute).
"""

from __future__ import annotations

from sbom_enrich.manifests.requirements import MAX_OPTION_WORDS, parse_requirements_text

LONG = 1_000_000


def test_a_name_followed_by_a_million_brackets_is_one_problem() -> None:
    parsed = parse_requirements_text("a" + "[" * LONG + "\n")
    assert parsed.requirements == () and len(parsed.problems) == 1


def test_a_requirement_after_a_million_spaces_is_read() -> None:
    parsed = parse_requirements_text(" " * LONG + "nose==1.3.7  # pinned\n")
    assert [(r.name, r.pinned_version) for r in parsed.requirements] == [("nose", "1.3.7")]
    assert parsed.problems == ()


def test_a_comment_after_spaces_is_still_a_comment() -> None:
    parsed = parse_requirements_text("nose" + "\t" * LONG + "# sbom-enrich: ignore\n")
    (requirement,) = parsed.requirements
    assert requirement.ignored


def test_a_line_with_a_million_options_is_one_problem() -> None:
    parsed = parse_requirements_text("nose==1.3.7 " + "--hash=sha256:00 " * LONG + "\n")
    (problem,) = parsed.problems
    assert f"more than {MAX_OPTION_WORDS} options" in problem.message
    # A real pip-compile line keeps its requirement.
    real = parse_requirements_text("nose==1.3.7 " + "--hash=sha256:00 " * 300 + "\n")
    assert [r.name for r in real.requirements] == ["nose"] and real.problems == ()
