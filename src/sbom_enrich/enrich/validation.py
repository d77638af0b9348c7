"""Schema validation of CycloneDX bytes with cyclonedx-python-lib's schemas (imported when used)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Hashable, Iterator
from typing import Any

_MAX_MESSAGE = 300

# RFC 3987 section 2.2: ucschar (allowed anywhere in an IRI) and iprivate (only in the query).
_UCSCHAR = (
    "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef"
    + "".join(f"{chr(plane << 16)}-{chr(plane << 16 | 0xFFFD)}" for plane in range(1, 14))
    + "\U000e1000-\U000efffd"
)
_IPRIVATE = "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"


@functools.cache
def _iri_char_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(ucschar, ucschar or iprivate), compiled on first use: ~8 ms only --validate pays."""
    return re.compile(f"[{_UCSCHAR}]"), re.compile(f"[{_UCSCHAR}{_IPRIVATE}]")


def _percent_encode(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode("utf-8"))


def iri_to_uri(value: str) -> str:
    """RFC 3987 section 3.1: the IRI's non-ASCII characters percent-encoded as UTF-8.

    Only characters an IRI may hold there are encoded (ucschar; iprivate in the query), so any
    other non-ASCII character stays and the URI check then rejects it, as the IRI grammar does.
    """
    if value.isascii():
        return value
    ucschar, query_char = _iri_char_patterns()
    before_fragment, hash_mark, fragment = value.partition("#")
    path, question_mark, query = before_fragment.partition("?")
    return (
        ucschar.sub(_percent_encode, path)
        + question_mark
        + query_char.sub(_percent_encode, query)
        + hash_mark
        + ucschar.sub(_percent_encode, fragment)
    )


def is_iri(instance: object) -> bool:
    """The ``iri`` format: what jsonschema checks with rfc3987-syntax, ~1,000x faster."""
    from rfc3986_validator import validate_rfc3986

    return not isinstance(instance, str) or bool(validate_rfc3986(iri_to_uri(instance), "URI"))


def is_iri_reference(instance: object) -> bool:
    """The ``iri-reference`` format (CycloneDX's every URL field), as :func:`is_iri`."""
    from rfc3986_validator import validate_rfc3986

    return not isinstance(instance, str) or bool(
        validate_rfc3986(iri_to_uri(instance), "URI_reference")
    )


def _canonical(value: Any) -> Hashable:
    """A hashable stand-in, equal exactly when jsonschema calls two JSON values equal.

    That is Python equality (``1 == 1.0``) except that booleans are not numbers, all the way
    down through arrays and objects.
    """
    if isinstance(value, bool):
        return (bool, value)
    if isinstance(value, list):
        return (list, tuple(map(_canonical, value)))
    if isinstance(value, dict):
        return (dict, frozenset((key, _canonical(item)) for key, item in value.items()))
    scalar: Hashable = value  # str, int, float, None
    return scalar


def has_unique_items(items: list[Any]) -> bool:
    """jsonschema's ``uniq`` in linear time (it compares objects pairwise: quadratic)."""
    seen: set[Hashable] = set()
    for item in items:
        key = _canonical(item)
        if key in seen:
            return False
        seen.add(key)
    return True


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema import ValidationError

    if unique and validator.is_type(instance, "array") and not has_unique_items(instance):
        yield ValidationError(f"{instance!r} has non-unique elements")


def _faster(library_validator: Any) -> Any:
    """The library's jsonschema validator with two keywords made fast, or None if it has none.

    Same schemas, same answers, two costs gone: jsonschema checks ``iri-reference`` (every
    CycloneDX URL) with rfc3987-syntax, an Earley parser taking ~50 ms a URL, which also rejects
    IPv6 literals (``http://[::1]/``) and characters beyond U+FFFF that RFC 3987 allows; and
    ``uniqueItems`` (the components array) compares every pair of objects.
    """
    import attrs
    from jsonschema import FormatChecker, validators

    schema_validator = getattr(library_validator, "_validator", None)
    base = getattr(schema_validator, "format_checker", None)
    if schema_validator is None or base is None:
        return None
    checker = FormatChecker(formats=())
    checker.checkers = dict(base.checkers)
    if "iri" in checker.checkers:
        checker.checks("iri")(is_iri)
    if "iri-reference" in checker.checkers:
        checker.checks("iri-reference")(is_iri_reference)
    faster = validators.extend(type(schema_validator), {"uniqueItems": _unique_items})
    fields = attrs.fields(type(schema_validator))
    current = {field.alias: getattr(schema_validator, field.name) for field in fields if field.init}
    return faster(**{**current, "format_checker": checker})


#: What validation imports, each from the ``validation`` extra.
_VALIDATION_MODULES = ("cyclonedx", "jsonschema", "lxml", "rfc3986_validator", "attrs")


def missing_validation_modules() -> list[str]:
    """The modules ``--validate`` needs that are not installed (``[]`` when it can run)."""
    import importlib.util

    return [name for name in _VALIDATION_MODULES if importlib.util.find_spec(name) is None]


@functools.cache
def _validator(fmt: str, spec_version: str) -> Any:
    # Imported here: cyclonedx and its schema tooling take a noticeable time to import, and
    # most runs never validate.
    from cyclonedx.schema import OutputFormat, SchemaVersion
    from cyclonedx.validation import make_schemabased_validator

    output_format = OutputFormat.JSON if fmt == "json" else OutputFormat.XML
    return make_schemabased_validator(output_format, SchemaVersion.from_version(spec_version))


@functools.cache
def _json_schema_validator(spec_version: str) -> Any:
    return _faster(_validator("json", spec_version))


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _json_message(error: Any) -> str:
    """One line for a jsonschema ValidationError: where in the document, then what."""
    where = "/".join(str(part) for part in getattr(error, "absolute_path", ()))
    return _one_line(f"{where or '(root)'}: {error.message}")


def _message(error: Any, fmt: str) -> str:
    data = getattr(error, "data", None)
    if fmt == "json" and data is not None and hasattr(data, "message"):
        return _json_message(data)
    if fmt == "xml" and data is not None and hasattr(data, "line"):
        return _one_line(f"line {data.line}: {data.message}")
    return _one_line(str(error))


def validate_sbom(data: bytes, fmt: str, spec_version: str) -> list[str]:
    """Schema errors of a CycloneDX document (one line each); ``[]`` when it is valid.

    ``fmt`` is "json" or "xml"; ``spec_version`` is "1.3".."1.7".
    """
    if fmt == "json":
        text = data.decode("utf-8-sig")
        schema_validator = _json_schema_validator(spec_version)
        if schema_validator is not None:
            errors = schema_validator.iter_errors(json.loads(text))
            return [_json_message(error) for error in errors]
    elif fmt == "xml":
        from .xml_sbom import parse_for_validation, xml_text

        # The library parses str re-encoded as UTF-8, so a declaration naming another
        # encoding would be misread: hand it the root element without a declaration.
        text = xml_text(parse_for_validation(data))
    else:
        raise ValueError(f"unknown SBOM format {fmt!r}")
    errors = _validator(fmt, spec_version).validate_str(text, all_errors=True)
    if errors is None:
        return []
    return [_message(error, fmt) for error in errors]
