"""The one exception tree: every error sbom-enrich raises for a user to read, with one root.

Our exceptions::

    SbomEnrichError                 anything below; str(e) is one line for the user
    ├── UsageError                  bad flags, environment or input: exit 2, nothing written
    ├── OutputError                 a result could not be written (disk full, EIO): exit 4
    ├── SettingsError (ValueError)  a setting (flag, SBOM_ENRICH_*, editor) cannot be used
    ├── PolicyError (ValueError)    the policy file is unreadable or not in its shape
    ├── AlternativesError (ValueError)  an alternatives catalog file is unusable
    ├── CheckError                  a manifest named on the command line cannot be read
    ├── PageError (ValueError)      an index answer is not a project page we can read
    ├── SbomError                   the input is not an SBOM we can enrich
    │   ├── UnsupportedSpecError    CycloneDX spec version outside 1.3-1.7
    │   ├── UnsafeXmlError          XML with a DTD or entities: refused, never expanded
    │   └── SignedSbomError         signed (JSF / XML Signature) and the policy is to refuse
    ├── ApiError                    a request the HTTP service refuses (status + message)
    ├── InventoryError              a file `monitor add` cannot register (exit 2)
    ├── StoreError                  the monitor's database cannot be opened or used
    │   ├── StoreMissingError       a command that only reads found no monitor database (exit 2)
    │   └── StoreUnavailableError   the database cannot be used now: its server does not
    │                               answer, another process holds its lock, or this
    │                               process cannot write it (exit 3)
    └── DeliveryError               a receiver did not accept a monitor notice (retried)

Failures of an index lookup are values (an ``unknown`` record with an error), not exceptions.
Private exceptions used for control flow inside one module (``_RedirectRefused``,
``_OptionError``, ``_DuplicateKeyError``, ``_RefusedPickle``) never leave it and are not part
of the tree; nor are those of the private HTTP layer (``status/_http``: ``AnswerRefused``,
and ``FirstByteStall``, an ``httpx.ReadTimeout``), which the client turns into lookup values. The
``ValueError`` bases stay so code that validated with ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "AlternativesError",
    "ApiError",
    "CheckError",
    "DeliveryError",
    "InventoryError",
    "OutputError",
    "PageError",
    "PolicyError",
    "SbomEnrichError",
    "SbomError",
    "SignedSbomError",
    "SettingsError",
    "StoreError",
    "StoreMissingError",
    "StoreUnavailableError",
    "UnsafeXmlError",
    "UnsupportedSpecError",
    "UsageError",
]


class SbomEnrichError(Exception):
    """The root: an error whose message is meant for the user, one line."""


class UsageError(SbomEnrichError):
    """Bad flags, environment or input: one line on stderr, exit 2, nothing written."""


class OutputError(SbomEnrichError):
    """A result (the SBOM, a report) could not be written after the run: one line, exit 4."""


class SettingsError(SbomEnrichError, ValueError):
    """A setting has a value that cannot be used (message names the setting)."""


class PolicyError(SbomEnrichError, ValueError):
    """The policy file is unreadable, not TOML, or not in the documented shape (one line)."""


class AlternativesError(SbomEnrichError, ValueError):
    """A catalog file is missing, unreadable, not TOML, or not in the catalog's shape.

    The message is one line that names the file and the problem.
    """


class CheckError(SbomEnrichError):
    """A manifest named on the command line cannot be read (one line; exit 2)."""


class PageError(SbomEnrichError, ValueError):
    """The page is not a Simple API project page this client can read (message is one line)."""


class SbomError(SbomEnrichError):
    """The input is not an SBOM we can enrich; ``str(e)`` is one line for the user."""

    def __init__(self, message: str) -> None:
        # The CLI prints str(e) as a single stderr line, and messages may quote parser
        # output or document text: fold every whitespace run so no newline gets through.
        super().__init__(" ".join(message.split()))


class UnsupportedSpecError(SbomError):
    """The CycloneDX spec version is outside 1.3-1.7."""


class UnsafeXmlError(SbomError):
    """The XML document declares a DTD or entities; refused, never expanded."""


class SignedSbomError(SbomError):
    """The SBOM carries signatures that enriching would break, and the policy is to refuse."""


class ApiError(SbomEnrichError):
    """A request the service refuses: HTTP ``status`` and a one-line ``message``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = " ".join(message.split())
        #: Headers the answer carries (a 429's Retry-After).
        self.headers = headers


class InventoryError(SbomEnrichError):
    """A file cannot be registered; the message is one line naming the file (exit 2)."""


class StoreError(SbomEnrichError):
    """The database cannot be opened or used; the message is one line, safe to print."""


class StoreMissingError(StoreError):
    """A command that only reads was pointed at no monitor database (a mistyped ``--db``)."""


class StoreUnavailableError(StoreError):
    """The database cannot be used now (its server does not answer, another process holds its
    lock, a command that writes cannot write it): nothing can be told, never "fine"."""


class DeliveryError(SbomEnrichError):
    """A receiver did not accept a notice; the message is one line (kept in the outbox)."""
