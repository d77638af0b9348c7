"""~/.netrc credentials for index requests, kept to the hosts and schemes they were meant for."""

from __future__ import annotations

from collections.abc import Generator

import httpx

__all__ = ["IndexNetrcAuth"]


class IndexNetrcAuth(httpx.NetRCAuth):
    """httpx's NetRCAuth, except where a lock file (not the user) picked the index.

    Indexes come from the configuration and from the lock files being checked, and a lock can
    be a stranger's pull request. httpx would send the ``default`` entry to any host, and a
    host's entry over plain http: a lock naming ``https://attacker.example/simple`` or
    ``http://private.example/simple`` got the user's credentials, the second in clear text.
    So the ``default`` entry and plain http are for the configured index's host only; other
    hosts get their own ``machine`` entry, over https.
    """

    def __init__(self, file: str, configured_host: str) -> None:
        super().__init__(file)
        self._configured = configured_host.lower()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        host = request.url.host.lower()
        if host != self._configured and (
            request.url.scheme != "https" or host not in self._netrc_info.hosts
        ):
            yield request
            return
        yield from super().auth_flow(request)
