"""Schema validation: the library's CycloneDX schemas, with IRI format checks that finish."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from jsonschema._utils import uniq
from rfc3987_syntax import is_valid_syntax

from sbom_enrich.enrich import validate_sbom
from sbom_enrich.enrich.validation import has_unique_items, iri_to_uri, is_iri, is_iri_reference

DATA = Path(__file__).resolve().parents[1] / "data" / "sboms"

# URL-ish ASCII, plus non-ASCII an IRI allows (é, NBSP), allows only in the query (private
# use) or never (U+FFFE, a lone surrogate). No brackets and nothing beyond U+FFFF, where
# rfc3987-syntax is wrong: see test_where_rfc3987_syntax_is_wrong.
ALPHABET = "ab9:/?#@!$&'()*+,;=%-._~ F<>\"{}|\\^`" + "é\u00a0\ue000\ufffe\ud800"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=12).map(lambda tail: "http://h/" + tail))
@example("http://exämple.com/päth?q=ü#frag")
@example("http://x/\u00a0")
@example("http://x/?\ue000")
@example("http://x/#\ue000")
@example("mailto:a@b")
def test_iri_checks_agree_with_rfc3987_syntax(value: str) -> None:
    # rfc3987-syntax is what jsonschema uses; it is correct here but takes ~50 ms a URL.
    assert is_iri_reference(value) == bool(is_valid_syntax("iri_reference", value))
    assert is_iri(value) == bool(is_valid_syntax("iri", value))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=10))
def test_relative_references_agree_with_rfc3987_syntax(value: str) -> None:
    assert is_iri_reference(value) == bool(is_valid_syntax("iri_reference", value))


def test_where_rfc3987_syntax_is_wrong() -> None:
    # RFC 3987 takes RFC 3986's IP-literal, and its ucschar runs up to U+EFFFD; rfc3987-syntax
    # 1.1 rejects every IPv6 literal and every character beyond U+FFFF.
    for value in ("http://[::1]/x", "http://[2001:db8::1]:8080/", "//[::1]/p", "http://h/𝄞", "𝄞"):
        assert is_iri_reference(value), value
    assert not is_iri_reference("http://[::1/x")
    assert not is_iri_reference("http://h/\U000f0000")  # private use outside the query


def test_iri_to_uri_encodes_only_what_an_iri_may_hold() -> None:
    assert iri_to_uri("http://x/ä?é#𝄞") == "http://x/%C3%A4?%C3%A9#%F0%9D%84%9E"
    assert iri_to_uri("http://x/\ue000?\ue000") == "http://x/\ue000?%EE%80%80"  # query only
    assert iri_to_uri("http://x/\ufffe") == "http://x/\ufffe"  # never allowed: left to fail
    assert iri_to_uri("plain ascii") == "plain ascii"


def sbom_with_url(url: str) -> bytes:
    component = {
        "type": "library",
        "name": "x",
        "version": "1",
        "externalReferences": [{"type": "website", "url": url}],
    }
    document = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}
    return json.dumps({**document, "components": [component]}).encode()


def test_json_validation_reports_a_bad_url_where_it_is() -> None:
    assert validate_sbom(sbom_with_url("https://exämple.org/ä"), "json", "1.6") == []
    assert validate_sbom(sbom_with_url("http://[::1]:8080/"), "json", "1.6") == []
    (problem,) = validate_sbom(sbom_with_url("http://exa mple.org/"), "json", "1.6")
    assert problem.startswith("components/0/externalReferences/0/url: 'http://exa mple.org/' ")


def test_json_validation_reports_other_schema_errors() -> None:
    document = json.loads(sbom_with_url("https://example.org/"))
    document["components"][0]["type"] = "spaceship"
    (problem,) = validate_sbom(json.dumps(document).encode(), "json", "1.6")
    assert problem.startswith("components/0/type: 'spaceship' is not one of")


@pytest.mark.parametrize(
    ("name", "version"),
    [("bom-examples-juice-shop-npm-1.4.json", "1.4"), ("cyclonedx-py-environment-1.6.json", "1.6")],
)
def test_large_json_sbom_validates_in_seconds(name: str, version: str) -> None:
    # 1.9 MB with ~4,500 URLs: minutes with jsonschema's own IRI check, ~2 s now. Not timed
    # here (pytest-timeout bounds it); bench numbers are in the README.
    assert validate_sbom((DATA / name).read_bytes(), "json", version) == []


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-2, 2)
    | st.sampled_from([1.0, 0.0, 2.5])
    | st.text(max_size=2),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(st.lists(JSON_VALUES, max_size=6))
@example([1, 1.0])
@example([True, 1])
@example([[True], [1]])
@example([{"a": 0}, {"a": False}])
@example([{"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]}])
@example([[False, 0], [False, False], [False, 0]])
def test_unique_items_agrees_with_jsonschema(items: list[object]) -> None:
    expected = all(
        not _json_equal(items[i], items[j])
        for i in range(len(items))
        for j in range(i + 1, len(items))
    )
    assert has_unique_items(items) == expected
    # jsonschema's own uniq() is the reference where it is right; it misses the duplicate in
    # [[False, 0], [False, False], [False, 0]] (its sort-based path), which hypothesis found.
    if not any(isinstance(item, list) for item in items):
        assert uniq(items) == expected


def _json_equal(a: object, b: object) -> bool:
    """JSON Schema equality: 1 == 1.0, but true is not 1; containers compared member by member."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[key], b[key]) for key in a)
    return type(a) is type(b) and a == b


def test_json_validation_reports_duplicate_components() -> None:
    component = {"type": "library", "name": "x"}
    document = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [component]}
    assert validate_sbom(json.dumps(document).encode(), "json", "1.6") == []
    document["components"] = [component, {"name": "x", "type": "library"}]  # key order aside
    (problem,) = validate_sbom(json.dumps(document).encode(), "json", "1.6")
    assert problem.startswith("components: [{'type': 'library', 'name': 'x'}")
    assert problem.endswith("has non-unique elements")
