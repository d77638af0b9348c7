"""The HTML reader of a PEP 503 project page, apart so that a JSON-only run never imports it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from .simple_api import YankedFile

__all__ = ["PageHTMLParser"]

#: "Links for NAME" (PEP 503 pages, pypiserver, Nexus) or "root/pypi: links for NAME" (devpi).
_LINKS_FOR = re.compile(r"links for\s+(\S+)\s*$", re.IGNORECASE)


class PageHTMLParser(HTMLParser):
    """What a PEP 503 page says: its meta tags, file links, and the headings naming it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        #: Every <meta name="pypi:project-status">, in page order: more than one may disagree.
        self.statuses: list[str] = []
        self.filenames: list[str] = []
        self.yanked_files: list[YankedFile] = []
        #: Links to a directory ("/simple/other/"): what the index's project list is made of.
        self.directory_links = 0
        self.headings: list[str] = []
        self._anchor: dict[str, str | None] | None = None
        self._text: list[str] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            attributes = dict(attrs)
            name, content = attributes.get("name"), attributes.get("content")
            if name and name.lower() == "pypi:project-status":
                self.statuses.append(content or "")
            if name and content is not None:
                self.meta.setdefault(name.lower(), content)
        elif tag == "a":
            self._anchor = dict(attrs)
            self._text = []
        elif tag in ("title", "h1"):
            self._heading = []

    def handle_data(self, data: str) -> None:
        if self._anchor is not None:
            self._text.append(data)
        if self._heading is not None:
            self._heading.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("title", "h1") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None
        if tag == "a" and self._anchor is not None:
            anchor = self._anchor
            self._anchor = None
            href = anchor.get("href")
            if not href:
                return  # an anchor without a target is no file (PEP 503: files are links)
            if href.split("#", 1)[0].endswith("/"):
                self.directory_links += 1
                return
            filename = "".join(self._text).strip()
            if not filename:
                filename = href.split("#", 1)[0].rsplit("/", 1)[-1]
            if not filename:
                return
            self.filenames.append(filename)
            if "data-yanked" in anchor:
                self.yanked_files.append(YankedFile(filename, anchor["data-yanked"] or ""))

    def project(self) -> str | None:
        """The project the title or heading names; the first that names one."""
        for heading in self.headings:
            match = _LINKS_FOR.search(heading)
            if match:
                return match[1]
        return None
