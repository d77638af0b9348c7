"""What a forge said about one repository, distilled: the repository source's record."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..model import format_rfc3339, parse_rfc3339

__all__ = ["RepoRecord", "RepoState"]


class RepoState(str, enum.Enum):
    """Whether the forge knows the repository."""

    FOUND = "found"
    GONE = "gone"  # 404: deleted, made private, or never there (a name anyone may take)
    UNKNOWN = "unknown"  # the lookup failed or was not made (rate limit, no token, outage)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class RepoRecord:
    """One repository's state. ``error`` says why the state is unknown (safe to print).

    ``url`` is the normalised URL that was asked; ``moved_to`` the normalised URL the forge
    answered for when it differs (a renamed or transferred repository). ``last_commit`` is the
    default branch's last commit date where the forge gives it, else the last push.
    """

    url: str
    forge: str
    state: RepoState
    checked_at: datetime
    archived: bool | None = None
    last_commit: datetime | None = None
    moved_to: str | None = None
    error: str | None = None
    from_cache: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "forge": self.forge,
            "state": self.state.value,
            "checked_at": format_rfc3339(self.checked_at),
            "archived": self.archived,
            "last_commit": format_rfc3339(self.last_commit) if self.last_commit else None,
            "moved_to": self.moved_to,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RepoRecord:
        """Inverse of :meth:`to_json`; raises KeyError/ValueError/TypeError when malformed."""
        archived = data.get("archived")
        if archived is not None and not isinstance(archived, bool):
            raise TypeError("archived must be a boolean")
        last_commit = data.get("last_commit")
        return cls(
            url=str(data["url"]),
            forge=str(data["forge"]),
            state=RepoState(data["state"]),
            checked_at=parse_rfc3339(str(data["checked_at"])),
            archived=archived,
            last_commit=parse_rfc3339(str(last_commit)) if last_commit else None,
            moved_to=str(data["moved_to"]) if data.get("moved_to") else None,
            error=str(data["error"]) if data.get("error") else None,
        )
