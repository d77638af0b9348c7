"""TLS session resumption: an origin's new connections resume the session of an earlier one."""

from __future__ import annotations

import ssl
from collections import deque
from time import time as _now
from typing import Any

#: Longest a certificate decision is relied on: a session is offered to new connections only
#: this long after the full handshake that verified the server's certificate (resumed
#: handshakes send no certificate, and each brings a new ticket: without this bound a chain
#: of resumptions would stand in for verification indefinitely in a long-running service).
#: After it the next connection verifies the certificate again in a full handshake.
SESSION_LIFETIME = 300.0
#: Connections remembered per origin: those whose handshake may still be under way, and the
#: newest done ones a session may be taken from.
_RECENT = 16
#: Completed connections without a ticket, and none with one, after which an origin's server
#: is taken to give no tickets: its sessions are not looked at again.
_NO_TICKETS = 4


class OriginSessions:
    """The ``ssl`` context of one origin's connections (scheme https, one host, one port).

    asyncio's SSL transport calls only ``wrap_bio`` on the object it is given as its context;
    this one has the shared :class:`ssl.SSLContext` offer the server a session of an earlier
    connection of the same origin, which the server may resume (TLS 1.3 or 1.2 tickets): the
    handshake then skips the certificate chain and its signatures. Our side's CPU, OpenSSL
    3.0 with an ECDSA P-256 certificate: ~0.8 ms a full handshake, ~0.3 ms a resumed one plus
    ~0.18 ms for Python to copy the session in (``SSLObject.session`` copies it out for as
    much: so a session is read once and offered until it must be replaced).

    What keeps it as safe as a full handshake every time:

    - one object per origin: a session is never offered to another host name or port (its
      certificate was checked against this host name only);
    - a session is taken only from a connection whose handshake completed — certificate and
      host name verified by the context (``CERT_REQUIRED``, ``check_hostname``) — and that
      holds a server ticket (the server sends one only after the handshake finished);
    - it is offered for at most :data:`SESSION_LIFETIME` after the full handshake that did
      the verification (resumptions of it count from there), never once the server's
      certificate has expired, and not at all when the context verifies nothing;
    - the server decides: a session it does not take means a full, verified handshake. A
      server that declines more offers than it takes is offered none again.
    """

    __slots__ = (
        "_adopted",
        "_context",
        "_declined",
        "_expires_at",
        "_host",
        "_recent",
        "_resumed",
        "_session",
        "_verified_at",
        "_without_ticket",
    )

    def __init__(self, context: ssl.SSLContext, host: str) -> None:
        self._context = context
        self._host = host
        #: Newest last, one per connection: [its SSL object, when it was made, the session
        #: offered to it (None: none), when that one was verified, whether its outcome is in].
        self._recent: deque[list[Any]] = deque(maxlen=_RECENT)
        self._session: ssl.SSLSession | None = None
        self._verified_at = 0.0
        self._expires_at = 0.0
        self._resumed = self._declined = 0
        #: Completed connections that had no ticket, sessions held so far.
        self._without_ticket = self._adopted = 0

    @property
    def resumed(self) -> int:
        """Handshakes that resumed an offered session."""
        return self._resumed

    @property
    def declined(self) -> int:
        """Handshakes that completed in full although a session was offered."""
        return self._declined

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        ours = not server_side and server_hostname == self._host and session is None
        now = _now()
        offered = self._usable_session(now) if ours else session
        ssl_object = self._context.wrap_bio(
            incoming,
            outgoing,
            server_side=server_side,
            server_hostname=server_hostname,
            session=offered,
        )
        if ours:
            self._recent.append([ssl_object, now, offered, self._verified_at, False])
        return ssl_object

    def _usable_session(self, now: float) -> ssl.SSLSession | None:
        """The session to offer a new connection now, if any."""
        self._learn()
        if self._declined > self._resumed + 1:
            return None
        if self._without_ticket >= _NO_TICKETS and not self._adopted:
            return None  # the server gives no tickets: stop paying to look
        if self._session is None or not self._still_good(now):
            self._session = None
            self._take_newest(now)
        return self._session if self._session is not None and self._still_good(now) else None

    def _still_good(self, now: float) -> bool:
        return now - self._verified_at < SESSION_LIFETIME and now < self._expires_at

    def _learn(self) -> None:
        """Count the completed handshakes that were offered a session: taken or declined (a
        declined session is not offered again)."""
        for entry in self._recent:
            ssl_object, _, offered, _, known = entry
            if known or ssl_object.version() is None:  # (None: handshake not completed)
                continue
            entry[4] = True
            if offered is None:
                continue
            if ssl_object.session_reused:
                self._resumed += 1
            else:
                self._declined += 1
                if offered is self._session:
                    self._session = None

    def _take_newest(self, now: float) -> None:
        """Hold the session of the newest completed connection that has a ticket. Reading a
        session copies it (~0.17 ms), so each connection is looked at once: one without a
        ticket is dropped (the ticket of a connection looked at before it came is lost:
        a later connection brings one)."""
        recent = self._recent
        position = len(recent) - 1
        while position >= 0:
            ssl_object, made_at, offered, offered_verified_at, _ = recent[position]
            if ssl_object.version() is None:  # handshake under way (or failed)
                position -= 1
                continue
            found = _ticketed_session(ssl_object)
            if found is None:
                del recent[position]
                self._without_ticket += 1
                position -= 1
                continue
            # A resumed handshake verified nothing: its certificate decision is the one of
            # the session it resumed. A full handshake verified as it was made.
            resumed = offered is not None and ssl_object.session_reused
            verified_at = offered_verified_at if resumed else made_at
            for _ in range(position + 1):  # it and the older ones have served
                recent.popleft()
            self._adopt(found, ssl_object, verified_at)
            return

    def _adopt(
        self, session: ssl.SSLSession, ssl_object: ssl.SSLObject, verified_at: float
    ) -> None:
        not_after = (ssl_object.getpeercert() or {}).get("notAfter")
        if not isinstance(not_after, str):  # no verified certificate's expiry: do not resume
            return
        try:
            expires_at = ssl.cert_time_to_seconds(not_after)
        except ValueError:
            return
        self._session, self._verified_at, self._expires_at = session, verified_at, expires_at
        self._adopted += 1


def _ticketed_session(ssl_object: ssl.SSLObject) -> ssl.SSLSession | None:
    """The session of a connection whose handshake completed (the caller checked), if it
    holds a server ticket."""
    session = ssl_object.session
    if session is None or not session.has_ticket:
        return None
    return session
