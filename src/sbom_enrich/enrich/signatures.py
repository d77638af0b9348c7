"""Signed SBOMs: enriching changes the signed bytes, so refuse, strip or keep, never silently."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ..errors import SignedSbomError
from .document import Sbom

#: refuse (default): exit 2, nothing written; strip: remove them; keep: write them unchanged.
SIGNATURE_POLICIES = ("refuse", "strip", "keep")
RESIGN_HINT = "re-sign the enriched SBOM (docs/signatures.md)"


def describe(kinds: Sequence[str]) -> str:
    """``["bom", "component", "component"]`` -> ``"the BOM and 2 components"``."""
    counts = Counter(kinds)
    parts = []
    for kind, count in counts.items():
        if kind == "bom":
            parts.append("the BOM")
        else:
            parts.append(f"{count} {kind}{'s' if count > 1 else ''}")
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def apply_signature_policy(sbom: Sbom, policy: str) -> str | None:
    """Apply ``policy`` to ``sbom``'s signatures; a one-line warning for the summary, or None.

    Raises SignedSbomError (one line) when the SBOM is signed and ``policy`` is ``refuse``.
    """
    if policy not in SIGNATURE_POLICIES:
        raise ValueError(f"unknown signature policy {policy!r}")
    kinds = sbom.signatures()
    if not kinds:
        return None
    kind = "XML Signature" if sbom.format == "xml" else "JSF signature"
    where = describe(kinds)
    count = len(kinds)
    plural = "s" if count > 1 else ""
    if policy == "refuse":
        raise SignedSbomError(
            f"{sbom.source}: the SBOM is signed ({kind}{plural} on {where}) and enriching "
            "would invalidate them; nothing written. Use --signatures strip (then re-sign) "
            "or --signatures keep (they will no longer verify)"
        )
    if policy == "strip":
        removed = sbom.remove_signatures()
        return f"removed {removed} {kind}{'s' if removed > 1 else ''} (on {where}); {RESIGN_HINT}"
    return (
        f"kept {count} {kind}{plural} (on {where}) unchanged: they no longer verify over the "
        f"enriched SBOM; {RESIGN_HINT}"
    )
