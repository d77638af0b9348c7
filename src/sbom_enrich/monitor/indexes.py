"""Which index each watched usage is asked on: the rules of ``check``, applied per usage (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..manifests.check import IndexPlan, index_router, is_allowable_lock_index, lock_allowed
from ..status.model import StatusRecord
from ..status.settings import ClientSettings
from ..status.urls import normalize_index_url, redact_url
from .model import UsageRef, WatchKey

__all__ = ["IndexRules", "PassPlan", "monitor_settings"]


@dataclass(frozen=True)
class PassPlan:
    """The watched items of a pass: where each is asked, and those no rule lets us ask."""

    #: (name, index key) → where it is used.
    usages: dict[WatchKey, list[UsageRef]]
    #: index key → the URL to ask, with the credentials configured for that index.
    ask: dict[str, str]
    #: Items whose index is not allowed (a purl naming an index no flag allows): not asked.
    refused: tuple[WatchKey, ...] = ()
    #: (name, "") → the lock usages that install that name from an index the configuration
    #: does not name: the configured index's project of the name is watched for them too, as
    #: ``check`` asks it (:meth:`IndexPlan.lock_named`), and only its quarantine is news.
    namesakes: dict[WatchKey, list[UsageRef]] = field(default_factory=dict)

    def watch_keys(self) -> list[WatchKey]:
        """Every item a pass asks about: the usages', then the namesakes no usage watches."""
        return sorted({*self.usages, *self.namesakes})

    def wanted(self) -> dict[str, set[str]]:
        """``{URL to ask: canonical names}`` for ``status.client.lookup_records``."""
        wanted: dict[str, set[str]] = {}
        for name, key in self.watch_keys():
            wanted.setdefault(self.ask[key], set()).add(name)
        return wanted

    def namesake_only(self, key: WatchKey) -> bool:
        """Whether ``key`` is watched only for the configured index's word on a lock's name."""
        return key in self.namesakes and key not in self.usages


class IndexRules:
    """``check``'s rules for one configuration: a package whose entry names no index (or the
    configured one) is asked on the configured index; a lock file's index is asked with the
    credentials configured for it (``--index-url``, ``--allow-index``, ``~/.netrc``), and is
    allowed because the user registered that lock; a purl's ``repository_url`` only when
    ``--allow-index`` allows it (no server-side request forgery from an SBOM)."""

    def __init__(self, index_url: str, allowed_indexes: Sequence[str] = ()) -> None:
        self.configured = normalize_index_url(index_url)
        self.route = index_router(self.configured, allowed_indexes)
        self._allowed = {normalize_index_url(u) for u in allowed_indexes}
        self._plan = IndexPlan.of(self.configured, allowed_indexes)

    @classmethod
    def of(cls, settings: ClientSettings) -> IndexRules:
        return cls(settings.index_url, settings.allowed_indexes)

    def key(self, index: str | None) -> str:
        """The watched item's index key: "" for the configured index, else its bare URL
        (an index that is not a URL at all stays as stored, and is never asked)."""
        try:
            routed = self.route(index)
        except ValueError:
            return index or ""
        return "" if routed == self.configured else redact_url(routed)

    def keyed(self, baselines: Mapping[WatchKey, StatusRecord]) -> dict[WatchKey, StatusRecord]:
        """``baselines`` under the keys a pass gives their stored ones; of two that become one
        (two spellings of an index), the later answer, as ``adopt_index_keys`` keeps."""
        keyed: dict[WatchKey, StatusRecord] = {}
        for (name, index), record in sorted(baselines.items()):
            key = (name, self.key(index or None))
            kept = keyed.get(key)
            if (
                kept is None
                or record.checked_at > kept.checked_at
                or (record.checked_at == kept.checked_at and (name, index) == key)
            ):
                keyed[key] = record
        return keyed

    def ask_url(self, key: str) -> str:
        return self.configured if not key else self.route(key)

    def asked(self, ref: UsageRef) -> bool:
        """Whether the rules let a pass ask the index ``ref`` names."""
        key = self.key(ref.index)
        if not key:
            return True
        try:
            url = self.ask_url(key)
        except ValueError:
            return False
        return url in self._allowed or (ref.lock and is_allowable_lock_index(url))

    def lock_named(self, ref: UsageRef) -> bool:
        """Whether ``ref`` is a lock's usage of an index the configuration does not name
        (``check``'s :meth:`IndexPlan.lock_named`): its name is asked on the configured index
        too. An index that is no URL at all counts as such: it hides nothing."""
        if not ref.lock or not ref.index:
            return False
        try:
            return self._plan.unvouched(ref.index) is not None
        except ValueError:
            return True

    def plan(self, watched: Mapping[str, Sequence[UsageRef]]) -> PassPlan:
        usages: dict[WatchKey, list[UsageRef]] = {}
        namesakes: dict[WatchKey, list[UsageRef]] = {}
        refused: dict[WatchKey, None] = {}
        ask: dict[str, str] = {}
        for name, refs in watched.items():
            for ref in refs:
                key = self.key(ref.index)
                if self.asked(ref):
                    usages.setdefault((name, key), []).append(ref)
                    ask[key] = self.ask_url(key)
                else:
                    refused[(name, key)] = None
                if key and self.lock_named(ref):
                    namesakes.setdefault((name, ""), []).append(ref)
                    ask[""] = self.configured
        # A name one file takes from an index it may be asked on is asked there; another
        # file's refused purl for the same (name, index) does not refuse it.
        return PassPlan(
            usages, ask, tuple(sorted(k for k in refused if k not in usages)), namesakes
        )


def monitor_settings(
    settings: ClientSettings, watched: Mapping[str, Iterable[UsageRef]]
) -> ClientSettings:
    """``settings`` also allowing the http(s) indexes registered lock files name (as ``check``
    allows those of the lock files it is given)."""
    rules = IndexRules.of(settings)
    lock_indexes = {r.index for refs in watched.values() for r in refs if r.lock and r.index}
    return lock_allowed(settings, lock_indexes, rules.route)
