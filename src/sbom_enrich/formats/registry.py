"""The table of report formats: name, file suffixes that imply it, renderer."""

from __future__ import annotations

import importlib

import msgspec

from ..findings.model import ExitCode, Report

__all__ = ["FORMATS", "REPORT_FORMATS", "ReportFormat", "format_for_path", "render_report"]


class ReportFormat(msgspec.Struct, frozen=True, eq=False):
    """A report format: its ``--report-format`` name, the file suffixes that imply it, and the
    module (of this package) that renders it, imported with the first report in that format:
    a run imports none of them before its lookups, and only the ones it writes."""

    name: str
    suffixes: tuple[str, ...]
    module: str

    def render(self, report: Report, fail_on: frozenset[str], exit_status: ExitCode) -> str:
        renderer = importlib.import_module(f"{__package__}.{self.module}")
        return renderer.render(report, fail_on, exit_status)  # type: ignore[no-any-return]


#: In the order a file name is matched: ``.sarif.json`` is SARIF before it is JSON. A name
#: with none of these suffixes gets ``--report-format``, else text.
FORMATS: tuple[ReportFormat, ...] = (
    ReportFormat("sarif", (".sarif", ".sarif.json"), "sarif"),
    ReportFormat("markdown", (".md", ".markdown"), "markdown"),
    ReportFormat("json", (".json",), "json"),
    ReportFormat("text", (".txt", ".text"), "text"),
)
_BY_NAME = {f.name: f for f in FORMATS}
REPORT_FORMATS = ("text", "json", "markdown", "sarif")


def format_for_path(path: str, default: str = "text") -> str:
    """The format a report file's name asks for (.sarif, .md, .json, .txt), else ``default``.

    A name's own suffix wins over ``--report-format``: ``--report r.md --report-format json``
    must not write JSON into a file called ``r.md``.
    """
    lower = path.lower()
    return next((f.name for f in FORMATS if f.suffixes and lower.endswith(f.suffixes)), default)


def render_report(
    report_format: str, report: Report, fail_on: frozenset[str], exit_status: ExitCode
) -> str:
    """The report in ``report_format`` (one of :data:`REPORT_FORMATS`), newline-terminated."""
    return _BY_NAME.get(report_format, _BY_NAME["text"]).render(report, fail_on, exit_status)
