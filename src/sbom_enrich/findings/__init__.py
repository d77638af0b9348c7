"""What a run found and what policy says about it: pure values, no I/O.

``kinds.py`` is the one table of finding kinds (codes, meanings, editor severities, SARIF
rules, ``--fail-on`` words); ``model.py`` the findings, the report and the exit code;
``policy.py`` the policy file; ``alternatives.py`` the catalog of maintained replacements.
"""

from .alternatives import Alternative, AlternativesCatalog
from .kinds import (
    DEFAULT_FAIL_ON,
    FAIL_ON_WORDS,
    KINDS,
    KINDS_BY_CODE,
    FindingKind,
    parse_fail_on,
)
from .model import ExitCode, Finding, Ignored, Location, Problem, Report, exit_code
from .policy import Policy, apply_ignores, find_policy_file, load_policy

__all__ = [
    "DEFAULT_FAIL_ON",
    "FAIL_ON_WORDS",
    "KINDS",
    "KINDS_BY_CODE",
    "Alternative",
    "AlternativesCatalog",
    "ExitCode",
    "Finding",
    "FindingKind",
    "Ignored",
    "Location",
    "Policy",
    "Problem",
    "Report",
    "apply_ignores",
    "exit_code",
    "find_policy_file",
    "load_policy",
    "parse_fail_on",
]
