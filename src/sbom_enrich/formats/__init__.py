"""Report formats, one module each (text, json, markdown, sarif) behind one small interface.

Each format module has ``render(report, fail_on, exit_status) -> str``, the whole report file,
newline-terminated. A new format is one module plus one :class:`ReportFormat` row below.
"""

from .registry import FORMATS, REPORT_FORMATS, ReportFormat, format_for_path, render_report

__all__ = ["FORMATS", "REPORT_FORMATS", "ReportFormat", "format_for_path", "render_report"]
