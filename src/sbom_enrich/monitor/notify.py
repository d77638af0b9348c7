"""Deliver queued notices: generic JSON webhooks (HMAC-signed), Slack webhooks, SMTP e-mail.

Delivery is at least once: an item leaves the outbox only after its receiver accepted it, so a
crash between sending and marking sends it again with the same event id (receivers drop
repeats by that id). Targets are named in the outbox by a key derived from their address, never
by the address itself: a Slack URL is a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from .._deadline import within
from ..errors import DeliveryError
from ..status.untrusted import clean_text
from .store import MonitorStore

__all__ = [
    "DeliveryError",
    "DeliveryResult",
    "MailTarget",
    "Notifier",
    "SlackTarget",
    "WebhookTarget",
    "deliver_due",
    "notice_text",
    "retry_delay",
    "signature",
]

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Sbom-Enrich-Signature-256"
EVENT_HEADER = "X-Sbom-Enrich-Event"
#: Seconds before the first retry of a failed delivery, doubling up to the cap.
RETRY_BASE = 30.0
RETRY_CAP = 3600.0
#: Seconds for one whole delivery (connect, send, answer).
SEND_TIMEOUT = 15.0
#: Most bytes of a receiver's answer read (Slack answers "ok").
MAX_ANSWER_BYTES = 64 * 1024
#: SMTP over TLS from the first byte (RFC 8314); any other port upgrades with STARTTLS.
SMTPS_PORT = 465


class Notifier(Protocol):
    """One notification target."""

    @property
    def key(self) -> str:
        """Stable name of the target in the outbox (no secrets in it)."""

    @property
    def shown(self) -> str:
        """How to name the target in messages (credentials removed)."""

    async def send(self, notice: Mapping[str, Any]) -> None:
        """Deliver one notice or raise :class:`DeliveryError`."""


def _key(kind: str, address: str) -> str:
    return f"{kind}:{hashlib.sha256(address.encode()).hexdigest()[:16]}"


def payload_bytes(notice: Mapping[str, Any]) -> bytes:
    """The exact bytes a webhook receives (and the signature covers)."""
    return json.dumps(dict(notice), sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the body>`` (GitHub's webhook convention)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a webhook URL: its path may be the credential (Slack's is),
    so messages, logs and the outbox's last error never show more."""
    try:
        parts = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return "<unparseable URL>"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.host}{port}"


async def _post(http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> str:
    """POST ``body``; the start of the answer's text. Bounded in time and size as a whole:
    httpx's timeout is per read, so a receiver dripping a byte at a time, or answering with an
    endless body read whole, held a pass (and its memory) forever."""
    try:
        return await within(_exchange(http, url, body, headers), SEND_TIMEOUT)
    except (httpx.HTTPError, asyncio.TimeoutError) as error:
        raise DeliveryError(f"{type(error).__name__} from {origin_of(url)}") from None


async def _exchange(http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> str:
    request = http.stream("POST", url, content=body, headers=headers, timeout=SEND_TIMEOUT)
    async with request as response:
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"HTTP {response.status_code} from {origin_of(url)}")
        received = bytearray()
        async for chunk in response.aiter_bytes():
            received += chunk
            if len(received) >= MAX_ANSWER_BYTES:
                break  # the notice was accepted (2xx); the rest of the answer is not needed
    return bytes(received[:MAX_ANSWER_BYTES]).decode("utf-8", errors="replace")


@dataclass(frozen=True)
class WebhookTarget:
    """POST the notice as JSON; signed with ``X-Sbom-Enrich-Signature-256`` when a secret is set."""

    url: str
    http: httpx.AsyncClient = field(repr=False)
    secret: str | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        return _key("webhook", self.url)

    @property
    def shown(self) -> str:
        return f"webhook {origin_of(self.url)}"

    async def send(self, notice: Mapping[str, Any]) -> None:
        body = payload_bytes(notice)
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: str(notice.get("event_id", "")),
        }
        if self.secret:
            headers[SIGNATURE_HEADER] = signature(self.secret, body)
        await _post(self.http, self.url, body, headers)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class SlackTarget:
    """A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat): ``{"text": ...}``."""

    url: str
    http: httpx.AsyncClient = field(repr=False)

    @property
    def key(self) -> str:
        return _key("slack", self.url)

    @property
    def shown(self) -> str:
        return "slack webhook"  # the URL is the credential

    async def send(self, notice: Mapping[str, Any]) -> None:
        body = json.dumps({"text": _slack_escape(notice_text(notice))}).encode()
        await _post(self.http, self.url, body, {"Content-Type": "application/json"})


@dataclass(frozen=True)
class MailTarget:
    """One e-mail per notice over SMTP: STARTTLS when offered (port 465: TLS from the start).

    With a ``user``, the password is sent only over TLS: a server that offers no STARTTLS is a
    failed delivery, never a password in clear text.
    """

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    #: The TLS trust to use (None: the system's default certificate store).
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    #: Seconds for the whole delivery, connect to QUIT (None: ``SEND_TIMEOUT``).
    deadline: float | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        return _key("smtp", f"{self.host}:{self.port}|{','.join(self.recipients)}")

    @property
    def shown(self) -> str:
        return f"smtp {self.host}:{self.port}"

    async def send(self, notice: Mapping[str, Any]) -> None:
        message = EmailMessage()
        old, new = _change(notice)
        message["Subject"] = (
            f"[sbom-enrich] {notice.get('name')}: {old} -> {new} ({notice.get('kind')})"
        )
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Message-ID"] = f"<{notice.get('event_id')}@sbom-enrich>"
        message["X-Sbom-Enrich-Event"] = str(notice.get("event_id", ""))
        message.set_content(notice_text(notice) + "\n\n" + json.dumps(dict(notice), indent=2))
        deadline = self.deadline or SEND_TIMEOUT
        try:
            # The thread cannot be cancelled; the watchdog inside it cuts its socket at the
            # deadline, and this wait gives it a moment more to notice before giving up on it.
            await within(asyncio.to_thread(self._send_sync, message, deadline), deadline + 5.0)
        except _DeadlinePassed:
            raise DeliveryError(
                f"no complete SMTP dialogue with {self.host}:{self.port} within {deadline:g} s "
                "(a slow or dripping server); retried later"
            ) from None
        except asyncio.TimeoutError:
            raise DeliveryError(
                f"SMTP delivery to {self.host}:{self.port} did not finish within {deadline:g} s"
            ) from None
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryError(
                f"{type(error).__name__} from {self.host}:{self.port}: {str(error)[:200]}"
            ) from None

    def _send_sync(self, message: EmailMessage, deadline: float) -> None:
        """The SMTP dialogue, bounded as a whole: smtplib's timeout is per socket operation,
        so a server dripping a byte at a time held the delivery (and the pass) forever. A
        watchdog shuts the socket down at the deadline, which ends any read or write."""
        context = self.ssl_context or ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.port == SMTPS_PORT:
            smtp = smtplib.SMTP_SSL(timeout=deadline, context=context)
        else:
            smtp = smtplib.SMTP(timeout=deadline)
        expired = threading.Event()

        def cut() -> None:
            expired.set()
            sock = getattr(smtp, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(deadline, cut)
        watchdog.daemon = True
        watchdog.start()
        try:
            with smtp:
                self._dialogue(smtp, context, message)
        except (OSError, smtplib.SMTPException):
            if expired.is_set():
                raise _DeadlinePassed from None
            raise
        finally:
            watchdog.cancel()
        if expired.is_set():  # the QUIT was cut short: the message may not have been taken
            raise _DeadlinePassed

    def _dialogue(self, smtp: smtplib.SMTP, context: ssl.SSLContext, message: EmailMessage) -> None:
        # Made without a host (so that connecting, greeting included, runs under the
        # watchdog); TLS checks the certificate against _host, which only the constructor sets.
        smtp._host = self.host  # type: ignore[attr-defined]
        smtp.connect(self.host, self.port)
        smtp.ehlo()
        encrypted = self.port == SMTPS_PORT
        if not encrypted and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
            encrypted = True
        if self.user:
            if not encrypted:
                raise smtplib.SMTPException(
                    "the server offers no STARTTLS; the password is not sent in clear text"
                )
            smtp.login(self.user, self.password or "")
        refused = smtp.send_message(message)
        if refused:
            # smtplib raises only when every recipient is refused: a notice the on-call
            # address never got was marked delivered. Not delivered, so it is tried again
            # (those who accepted it may get it twice; its event id tells them).
            shown = ", ".join(sorted(clean_text(str(r), 100) for r in refused)[:5])
            raise smtplib.SMTPException(f"the server refused recipients: {shown}")


class _DeadlinePassed(Exception):
    """The watchdog cut an SMTP dialogue at its deadline (never leaves this module)."""


def _change(notice: Mapping[str, Any]) -> tuple[Any, Any]:
    """(old, new): the index's statuses, or for a maintenance notice its verdicts."""
    if notice.get("signal") == "maintenance":
        return (
            f"maintenance {notice.get('old_maintenance')}",
            f"maintenance {notice.get('new_maintenance')}",
        )
    return notice.get("old_status"), notice.get("new_status")


def notice_text(notice: Mapping[str, Any]) -> str:
    """The notice in a few plain lines (Slack message, e-mail body)."""
    version = f" {notice['version']}" if notice.get("version") else ""
    old, new = _change(notice)
    lines = [f"{notice.get('name')}{version}: {old} \u2192 {new} ({notice.get('summary')})"]
    if notice.get("reason"):
        lines.append(f"Reason: {notice['reason']}")
    repository = notice.get("repository")
    if isinstance(repository, Mapping):
        archived = repository.get("archived")
        lines.append(
            f"Repository: {repository.get('url')} (archived: "
            f"{'unknown' if archived is None else str(archived).lower()}, last commit: "
            f"{repository.get('last_commit') or 'unknown'})"
        )
    if notice.get("evidence"):
        lines.append("Evidence: " + "; ".join(str(e) for e in notice["evidence"]))
    users = notice.get("used_by") or []
    if users:
        lines.append(
            "Used by: "
            + "; ".join(
                f"{u['project']} ({u['file']}{' @ ' + u['version'] if u.get('version') else ''})"
                for u in users
            )
        )
    if notice.get("off_index") == "index":
        sources = sorted({str(u.get("installed_from")) for u in users if u.get("installed_from")})
        lines.append(
            "Installed from another index ("
            + ", ".join(sources)
            + "): this is the status of the name on the index watched, where a resolver not "
            "pinned to that index would take it"
        )
    alternatives = notice.get("alternatives") or []
    if alternatives:
        lines.append(
            "Alternatives: " + "; ".join(f"{a['name']} ({a['rationale']})" for a in alternatives)
        )
    where = f" on {notice['index']}" if notice.get("index") else ""
    lines.append(f"Seen {notice.get('seen_at')}{where}")
    lines.append(f"Event {notice.get('event_id')}")
    # Each line cleaned: a registered path (a directory name) holding a line break and ESC
    # forged a line such as "Reason: false alarm" in the Slack text and the e-mail.
    return "\n".join(clean_text(line, 4000) for line in lines)


def retry_delay(attempts: int) -> float:
    """Seconds until the next try after ``attempts`` failed ones (30 s doubling, 1 h cap)."""
    return float(min(RETRY_BASE * 2 ** max(0, attempts), RETRY_CAP))


@dataclass(frozen=True)
class DeliveryResult:
    delivered: int = 0
    failed: tuple[str, ...] = ()  # one line per failed attempt


async def deliver_due(
    store: MonitorStore,
    notifiers: Sequence[Notifier],
    *,
    clock: Callable[[], float] = time.time,
    batch: int = 1,
) -> DeliveryResult:
    """Send every notice due now to its target, once each; failures wait for their retry.

    Claimed one at a time by default: a process killed mid-delivery holds only the notice in
    flight (until its claim lapses), never a batch the others could have sent meanwhile.

    A target that fails is not tried again in this call: its other notices stay queued for
    the next pass, so a receiver that is down or slow (each try may take the whole send
    deadline) costs one try per pass, not one per notice.
    """
    by_key = {n.key: n for n in notifiers}
    delivered = 0
    failed: list[str] = []
    tried: set[int] = set()
    broken: set[str] = set()
    while True:
        live = [key for key in by_key if key not in broken]
        items = [i for i in store.claim_due(live, clock(), batch) if i.id not in tried]
        if not items:
            break
        for item in items:
            if item.target in broken:
                continue  # claimed in the same batch; its claim lapses and a later call sends it
            tried.add(item.id)
            notifier = by_key[item.target]
            try:
                await notifier.send(item.notice)
            except DeliveryError as error:
                store.mark_failed(item.id, str(error), clock() + retry_delay(item.attempts))
                failed.append(f"{notifier.shown}: event {item.event_id}: {error}")
                logger.warning("delivery to %s failed: %s", notifier.shown, error)
                broken.add(item.target)
                continue
            store.mark_delivered(item.id)
            delivered += 1
    return DeliveryResult(delivered, tuple(failed))
