"""Watch what projects ship: inventory, passes over the index, transitions and their notices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .inventory import InventoryError, read_source
    from .model import OutboxItem, PassStats, Source, Transition, Usage, UsageRef
    from .notify import DeliveryResult, MailTarget, SlackTarget, WebhookTarget, deliver_due
    from .run import PassResult, open_monitor_client, run_pass
    from .store import MonitorStore, StoreError, open_store
    from .transitions import KINDS, judge_record

# Loaded on first use (PEP 562): `monitor list` must not pay for httpx or psycopg.
_EXPORTS = {
    "InventoryError": "inventory",
    "read_source": "inventory",
    "OutboxItem": "model",
    "PassStats": "model",
    "Source": "model",
    "Transition": "model",
    "Usage": "model",
    "UsageRef": "model",
    "DeliveryResult": "notify",
    "MailTarget": "notify",
    "SlackTarget": "notify",
    "WebhookTarget": "notify",
    "deliver_due": "notify",
    "PassResult": "run",
    "open_monitor_client": "run",
    "run_pass": "run",
    "MonitorStore": "store",
    "StoreError": "store",
    "open_store": "store",
    "KINDS": "transitions",
    "judge_record": "transitions",
}

__all__ = [
    "DeliveryResult",
    "InventoryError",
    "KINDS",
    "MailTarget",
    "MonitorStore",
    "OutboxItem",
    "PassResult",
    "PassStats",
    "SlackTarget",
    "Source",
    "StoreError",
    "Transition",
    "Usage",
    "UsageRef",
    "WebhookTarget",
    "deliver_due",
    "judge_record",
    "open_monitor_client",
    "open_store",
    "read_source",
    "run_pass",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
