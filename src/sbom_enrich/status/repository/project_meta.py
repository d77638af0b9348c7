"""The index's JSON project API (``/pypi/<name>/json``): project URLs and the latest description."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..._deadline import within
from ..answer_values import load_json
from ..model import canonical, is_project_name

if TYPE_CHECKING:
    # Imported where a request is made: the record store reads these records on runs
    # answered wholly from the cache, which must not pay for httpx.
    import httpx

__all__ = ["ProjectMetadata", "fetch_project_metadata", "read_project_metadata"]

#: Bound on the body read; PyPI's largest project pages are a few MB (many releases).
MAX_BODY = 16 * 2**20
#: Bound on the description kept (the recommendations are in its first screens).
MAX_DESCRIPTION = 200_000


@dataclass(frozen=True)
class ProjectMetadata:
    """What the JSON project API says that we use; every field is untrusted text.

    ``error``: the API gave no usable answer (a failure, a timeout, an HTTP error, a malformed
    body, or nothing asked). That is "could not tell", never "it lists no repository".
    """

    name: str
    project_urls: Mapping[str, str] = field(default_factory=dict)
    home_page: str | None = None
    description: str = ""
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "project_urls": dict(self.project_urls),
            "home_page": self.home_page,
            "description": self.description,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ProjectMetadata:
        """Inverse of :meth:`to_json` (a stored entry is untrusted: wrong types are absent)."""
        return read_project_metadata(str(data["name"]), {"info": data})


def read_project_metadata(name: str, data: object) -> ProjectMetadata:
    """The fields we use from a ``/pypi/<name>/json`` answer.

    ``project_urls`` and ``home_page`` say where the repository is: absent or null is an
    answer ("none listed"), any other type a malformed answer (``error``), so that a broken
    API never reads as a project with no repository. A URL that is not text, and a
    description of another type, are left out.
    """
    info = data.get("info") if isinstance(data, Mapping) else None
    if not isinstance(info, Mapping):
        return ProjectMetadata(name, error="project API: no 'info' object")
    urls = info.get("project_urls")
    home_page = info.get("home_page")
    if not (urls is None or isinstance(urls, Mapping)) or not (
        home_page is None or isinstance(home_page, str)
    ):
        return ProjectMetadata(name, error="project API: malformed 'project_urls' or 'home_page'")
    project_urls = (
        {str(k): v for k, v in urls.items() if isinstance(v, str)} if urls is not None else {}
    )
    description = info.get("description")
    return ProjectMetadata(
        name=name,
        project_urls=project_urls,
        home_page=home_page,
        description=description[:MAX_DESCRIPTION] if isinstance(description, str) else "",
    )


async def fetch_project_metadata(
    http: httpx.AsyncClient, api_url: str, name: str, *, timeout: float
) -> ProjectMetadata:
    """GET ``{api_url}/{name}/json``; failures are a record with ``error``, never raised."""
    import httpx

    if not is_project_name(name):
        return ProjectMetadata(name, error="not a valid project name; nothing was asked")
    url = f"{api_url.rstrip('/')}/{canonical(name)}/json"
    try:
        status, body = await within(_get(http, url), timeout)
    except (httpx.HTTPError, ValueError, asyncio.TimeoutError) as error:
        return ProjectMetadata(name, error=f"project API: {type(error).__name__}")
    if status != 200:
        return ProjectMetadata(name, error=f"project API: HTTP {status}")
    try:
        data = load_json(body)
    except ValueError:  # nesting past the recursion limit too: exit 5 for the run before
        return ProjectMetadata(name, error="project API: not JSON")
    return read_project_metadata(name, data)


async def _get(http: httpx.AsyncClient, url: str) -> tuple[int, bytes]:
    # PyPI redirects a non-canonical name; we ask the canonical one, so no redirects followed.
    async with http.stream(
        "GET", url, headers={"Accept": "application/json"}, follow_redirects=False
    ) as response:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_BODY:
                raise ValueError("project API answer too large")
        return response.status_code, bytes(body)
