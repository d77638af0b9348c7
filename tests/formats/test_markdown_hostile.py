"""File names that try to end their code span in the Markdown summary: rendered as text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import markdown_it

from cli_runner import Run

# Discovered in a repository (requirements*.txt), so anyone sending a pull request names it.
HOSTILE = "requirements-x`<img src=x onerror=alert(1)>|y`.txt"


def _html(markdown: str) -> str:
    # html=True: GitHub passes raw HTML through (sanitised, but an <img> still loads).
    return str(
        markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    )


def test_a_file_name_with_backticks_stays_inside_its_code_span(
    project: Path, check: Callable[..., Run]
) -> None:
    (project / HOSTILE).write_text("nose==1.3.7\n!!!bad\n")
    run = check(HOSTILE, "--report", "summary.md")
    assert run.code in (1, 3), run.stderr
    html = _html((project / "summary.md").read_text())
    assert "<img" not in html  # before: the name closed the span and the tag was live HTML
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    # Every row of the findings table has as many cells as its header: "|" split none.
    rows = html.split("<tbody>")[-1].split("</tbody>")[0].split("<tr>")[1:]
    header = html.split("<thead>")[-1].split("</thead>")[0]
    assert rows and all(row.count("<td") == header.count("<th") for row in rows)
