"""A quarantined project as a CycloneDX vulnerability: where scanners and dashboards look."""

from __future__ import annotations

from urllib.parse import urlsplit

from ..status.model import StatusRecord
from ..status.untrusted import clean_text
from .document import VULNERABILITY_PREFIX, VulnerabilityEntry

#: CWE-506, Embedded Malicious Code: what an index quarantines a project for (PEP 792).
CWE_EMBEDDED_MALICIOUS_CODE = 506


def index_name(index_url: str) -> str:
    """A short name for the index that quarantined the project: "PyPI" or its host."""
    host = (urlsplit(index_url).hostname or "").lower()
    if host in ("pypi.org", "www.pypi.org"):
        return "PyPI"
    return host or index_url


def quarantine_vulnerability(
    name: str, record: StatusRecord, affects: tuple[str, ...], off_index: int = 0
) -> VulnerabilityEntry:
    """The entry for quarantined project ``name`` (canonical), affecting ``affects`` bom-refs,
    ``off_index`` of which were installed from a URL or VCS rather than the index (the
    description says so: the quarantine is of the name they claim).

    The id depends on the name only, so a re-run finds and replaces it.
    """
    reason = clean_text(record.reason) if record.reason else ""
    description = (
        f"The package index {index_name(record.index_url)} has quarantined the project "
        f"{name!r} (PEP 792 project status 'quarantined'): it no longer serves its files, "
        "typically because it was found to contain malware."
    )
    if reason:
        description += f" Reason given by the index: {reason}"
    if off_index:
        description += (
            f" {off_index} of the affected components {'was' if off_index == 1 else 'were'} "
            "installed from a URL or a VCS repository, not from this index: the quarantine is "
            "of the name they install (a copy of the quarantined files is the likely case; a "
            "private package of the same name is possible)."
        )
    return VulnerabilityEntry(
        id=VULNERABILITY_PREFIX + name,
        source_name=index_name(record.index_url),
        source_url=f"{record.index_url.rstrip('/')}/{name}/",
        cwes=(CWE_EMBEDDED_MALICIOUS_CODE,),
        description=description,
        recommendation=(
            f"Remove {name} from the project and check the systems that installed it for "
            "compromise; do not reinstall it from a cache or mirror."
        ),
        affects=affects,
    )
