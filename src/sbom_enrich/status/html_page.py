"""The HTML reader of a PEP 503 project page, apart so that a JSON-only run never imports it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from .simple_api import YankedFile
from .untrusted import clean_text

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
        #: Every <meta name="pypi:repository-version">'s content, in page order.
        self.versions: list[str] = []
        #: What makes the page's markers unreadable (a tag of several names), in page order.
        self.problems: list[str] = []
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
            self._meta_tag(attrs)
        elif tag == "a":
            self._anchor = dict(attrs)
            self._text = []
        elif tag in ("title", "h1"):
            self._heading = []

    def _meta_tag(self, attrs: list[tuple[str, str | None]]) -> None:
        """Read one <meta>, every attribute of it: html.parser hands over repeated ones, and
        ``dict(attrs)`` kept the last where browsers, lxml and html5lib keep the first, so
        ``content="quarantined" content="active"`` read active. On a ``pypi:`` tag, repeated
        attributes that disagree are markers that disagree."""
        names = list(dict.fromkeys(v.lower() for k, v in attrs if k == "name" and v))
        contents = [v for k, v in attrs if k == "content"]
        if not names:
            return
        if len(names) > 1 and any(n.startswith("pypi:") for n in names):
            shown = ", ".join(clean_text(n, 40) for n in names[:3])
            self.problems.append(f"a <meta> tag with several names ({shown})")
            return
        name = names[0]
        if name == "pypi:project-status":
            # Each value is a marker: two that disagree fail the lookup, as two tags do.
            self.statuses.extend(c or "" for c in contents or [""])
        elif name == "pypi:repository-version":
            self.versions.extend(c for c in contents if c is not None)
        if contents and contents[0] is not None:
            self.meta.setdefault(name, contents[0])

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
