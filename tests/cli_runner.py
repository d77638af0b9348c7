"""What one in-process ``sbom-enrich`` run did, for CLI tests across the tree."""

from __future__ import annotations


class Run:
    """Exit code, bytes on stdout, text on stderr."""

    def __init__(self, code: int, stdout: bytes, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr
