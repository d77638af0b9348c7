"""Projects whose index text (api-version, reasons, yank reasons, versions) is hostile."""

from __future__ import annotations

from indexserver import FileSpec, ProjectSpec, release
from untrusted_text import HOSTILE


def hostile_text_projects() -> list[ProjectSpec]:
    """``old-text``: API version with escapes (an index before 1.4); ``bad-reason``: deprecated
    with a hostile reason and a yanked release with a hostile yank reason; ``fine``: active."""
    return [
        ProjectSpec("old-text", api_version=f"1.0{HOSTILE}", files=release("old-text", "1.0")),
        ProjectSpec(
            "bad-reason",
            status="deprecated",
            reason=f"use other{HOSTILE}",
            files=[
                *release("bad-reason", "1.0", yanked=f"broken{HOSTILE}"),
                FileSpec(f"bad_reason-2.0{HOSTILE}.tar.gz"),
                *release("bad-reason", "2.0"),
            ],
        ),
        ProjectSpec("fine", files=release("fine", "1.0")),
    ]
