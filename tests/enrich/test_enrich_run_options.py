"""`enrich` against the real test index: what is written only with an answer, only when
something was enriched, alternatives by status, and quarantined projects as vulnerabilities."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from cli_runner import Run
from listening import reserve_port
from sbom_enrich.enrich import validate_sbom

CHECKED_AT = "sbom-enrich:pypi:checked-at"
INDEX = "sbom-enrich:pypi:index"
ALTERNATIVE = "sbom-enrich:alternative"
STATUS = "sbom-enrich:pypi:project-status"


def component(name: str, version: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "library",
        "bom-ref": f"{name}=={version}",
        "name": name,
        "version": version,
        "purl": f"pkg:pypi/{name}@{version}",
        **extra,
    }


def bom(components: list[dict[str, Any]], spec: str = "1.6") -> bytes:
    document = {"bomFormat": "CycloneDX", "specVersion": spec, "version": 1}
    return (json.dumps({**document, "components": components}, indent=2) + "\n").encode()


def properties(document: dict[str, Any], index: int = 0) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for prop in document["components"][index].get("properties", []):
        found.setdefault(prop["name"], []).append(prop["value"])
    return found


def enrich(
    cli: Callable[..., Run], tmp_path: Path, data: bytes, *argv: str, **kwargs: Any
) -> tuple[Run, bytes | None]:
    source = tmp_path / "in.json"
    source.write_bytes(data)
    output = tmp_path / "out.json"
    output.unlink(missing_ok=True)
    run = cli("enrich", str(source), "-o", str(output), "--fail-on", "none", *argv, **kwargs)
    return run, output.read_bytes() if output.exists() else None


# -- no answer, no claim ---------------------------------------------------------------------


def test_offline_with_an_empty_cache_claims_no_index_and_no_time(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    run, output = enrich(
        cli, tmp_path, bom([component("requests", "2.31.0")]), "--offline", "--allow-incomplete"
    )
    assert output is not None, run.stderr
    found = properties(json.loads(output))
    assert found["sbom-enrich:pypi:project-status"] == ["unknown"]
    assert "sbom-enrich:pypi:lookup-error" in found
    assert CHECKED_AT not in found and INDEX not in found


def test_a_failed_lookup_claims_no_index_and_no_time(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    with reserve_port() as held:  # refused, and no one else's while the run asks it
        dead = f"http://127.0.0.1:{held.getsockname()[1]}/simple/"
        run, output = enrich(
            cli,
            tmp_path,
            bom([component("requests", "2.31.0")]),
            "--index-url",
            dead,
            "--timeout",
            "5",
        )
    assert run.code == 3 and output is not None, run.stderr
    found = properties(json.loads(output))
    assert "sbom-enrich:pypi:lookup-error" in found
    assert CHECKED_AT not in found and INDEX not in found


def test_an_answer_still_names_its_index_and_time(cli: Callable[..., Run], tmp_path: Path) -> None:
    run, output = enrich(cli, tmp_path, bom([component("requests", "2.31.0")]))
    assert output is not None, run.stderr
    found = properties(json.loads(output))
    assert len(found[CHECKED_AT]) == 1 and len(found[INDEX]) == 1


# -- nothing enriched, nothing changed -------------------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".xml"])
def test_an_sbom_without_pypi_components_is_written_back_unchanged(
    cli: Callable[..., Run], tmp_path: Path, suffix: str
) -> None:
    if suffix == ".json":
        data = bom([{"type": "library", "name": "left-pad", "purl": "pkg:npm/left-pad@1.3.0"}])
    else:
        data = (
            b'<?xml version="1.0"?>\n<bom xmlns="http://cyclonedx.org/schema/bom/1.5" '
            b'version="4">\n  <components>\n    <component type="library">\n'
            b"      <name>left-pad</name>\n      <purl>pkg:npm/left-pad@1.3.0</purl>\n"
            b"    </component>\n  </components>\n</bom>\n"
        )
    run, output = enrich(cli, tmp_path, data)
    assert run.code == 0, run.stderr
    assert output == data  # no version bump, no tool entry


# -- alternatives only where the status calls for one ----------------------------------------


def test_alternatives_go_only_to_statuses_that_call_for_them(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    components = [component("pycrypto", "2.6.1"), component("toml", "0.10.2")]
    # Online: pycrypto archived, toml not on this index: both call for a replacement.
    run, output = enrich(cli, tmp_path, bom(components))
    assert output is not None, run.stderr
    document = json.loads(output)
    assert properties(document, 0)[ALTERNATIVE] == ["pycryptodome"]
    assert len(properties(document, 1)[ALTERNATIVE]) == 3
    # Offline with nothing cached: unknown calls for nothing.
    run, output = enrich(
        cli, tmp_path, bom(components), "--offline", "--allow-incomplete",
        env={"SBOM_ENRICH_CACHE_DIR": str(tmp_path / "empty")},
    )  # fmt: skip
    assert output is not None, run.stderr
    document = json.loads(output)
    assert ALTERNATIVE not in properties(document, 0)
    assert ALTERNATIVE not in properties(document, 1)


def test_alternatives_for_is_configurable_by_flag_and_variable(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    components = [component("pycrypto", "2.6.1"), component("toml", "0.10.2")]
    run, output = enrich(cli, tmp_path, bom(components), "--alternatives-for", "archived")
    assert output is not None, run.stderr
    document = json.loads(output)
    assert properties(document, 0)[ALTERNATIVE] == ["pycryptodome"]
    assert ALTERNATIVE not in properties(document, 1)  # not-found is not asked for
    run, output = enrich(
        cli, tmp_path, bom(components), env={"SBOM_ENRICH_ALTERNATIVES_FOR": "none"}
    )
    assert output is not None, run.stderr
    assert ALTERNATIVE not in json.dumps(json.loads(output))
    run, _ = enrich(cli, tmp_path, bom(components), "--alternatives-for", "archived,bogus")
    assert run.code == 2 and "--alternatives-for: unknown status bogus" in run.stderr


# -- quarantined projects as vulnerabilities -------------------------------------------------


def test_quarantined_is_no_vulnerability_unless_asked(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    run, output = enrich(cli, tmp_path, bom([component("evil-pkg", "0.0.1")]))
    assert output is not None, run.stderr
    assert "vulnerabilities" not in json.loads(output)


def test_a_quarantined_project_becomes_one_vulnerability_replaced_on_rerun(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    components = [
        component("evil-pkg", "0.0.1"),
        component("requests", "2.31.0"),
        {k: v for k, v in component("evil-pkg", "0.0.2").items() if k != "bom-ref"},
    ]
    original = json.loads(bom(components))
    original["vulnerabilities"] = [{"id": "CVE-2024-35195", "source": {"name": "NVD"}}]
    data = (json.dumps(original, indent=2) + "\n").encode()
    run, once = enrich(cli, tmp_path, data, "--quarantined-as-vulnerability")
    assert once is not None, run.stderr
    document = json.loads(once)
    # The component without a bom-ref got one, so that affects can point at it.
    assert document["components"][2]["bom-ref"] == "pkg:pypi/evil-pkg@0.0.2"
    assert [v["id"] for v in document["vulnerabilities"]] == [
        "CVE-2024-35195",
        "SBOM-ENRICH-QUARANTINED-evil-pkg",
    ]
    ours = document["vulnerabilities"][1]
    assert ours["cwes"] == [506]
    assert ours["source"]["url"].endswith("/evil-pkg/")
    assert "Reported as malware" in ours["description"]
    assert ours["affects"] == [{"ref": "evil-pkg==0.0.1"}, {"ref": "pkg:pypi/evil-pkg@0.0.2"}]
    assert validate_sbom(once, "json", "1.6") == []

    run, twice = enrich(cli, tmp_path, once, env={"SBOM_ENRICH_QUARANTINED_AS_VULNERABILITY": "1"})
    assert twice is not None, run.stderr
    again = json.loads(twice)
    assert again["vulnerabilities"] == document["vulnerabilities"]  # replaced, not duplicated
    assert again["version"] == document["version"] + 1


def test_quarantined_as_vulnerability_in_xml_is_schema_valid_and_idempotent(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    data = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">\n'
        b"  <components>\n"
        b'    <component type="library" bom-ref="evil">\n'
        b"      <name>evil-pkg</name>\n      <version>0.0.1</version>\n"
        b"      <purl>pkg:pypi/evil-pkg@0.0.1</purl>\n"
        b"    </component>\n"
        b'    <component type="library">\n'
        b"      <name>evil-pkg</name>\n      <version>0.0.2</version>\n"
        b"      <purl>pkg:pypi/evil-pkg@0.0.2</purl>\n"
        b"    </component>\n"
        b"  </components>\n"
        b"  <annotations/>\n"
        b"</bom>\n"
    )
    source = tmp_path / "in.xml"
    source.write_bytes(data)
    out = tmp_path / "out.xml"
    args = ("--fail-on", "none", "--quarantined-as-vulnerability")
    run = cli("enrich", str(source), "-o", str(out), *args)
    assert run.code == 0, run.stderr
    once = out.read_bytes()
    assert validate_sbom(once, "xml", "1.6") == []
    root = etree.fromstring(once)
    ns = {"c": "http://cyclonedx.org/schema/bom/1.6"}
    [vulnerability] = root.findall("c:vulnerabilities/c:vulnerability", ns)
    assert vulnerability.findtext("c:id", namespaces=ns) == "SBOM-ENRICH-QUARANTINED-evil-pkg"
    assert vulnerability.findtext("c:cwes/c:cwe", namespaces=ns) == "506"
    assert [r.text for r in vulnerability.iterfind("c:affects/c:target/c:ref", ns)] == [
        "evil",
        "pkg:pypi/evil-pkg@0.0.2",
    ]
    assert b'<component type="library" bom-ref="pkg:pypi/evil-pkg@0.0.2">' in once
    # Before annotations, as the schema's sequence wants, indented like its siblings.
    assert b"  </components>\n  <vulnerabilities>\n    <vulnerability>\n" in once
    source.write_bytes(once)
    run = cli("enrich", str(source), "-o", str(out), *args)
    assert run.code == 0, run.stderr
    twice = out.read_bytes()
    assert twice.count(b"<vulnerability>") == 1
    assert twice.replace(b'version="3"', b'version="2"') == once


@pytest.mark.parametrize("bad_ref", [42, {"ref": "x"}, ["a"], None, True, ""])
def test_a_quarantined_component_with_an_unusable_bom_ref_keeps_it_as_written(
    cli: Callable[..., Run], tmp_path: Path, bad_ref: Any
) -> None:
    components = [
        component("evil-pkg", "0.0.1"),
        {**component("evil-pkg", "0.0.2"), "bom-ref": bad_ref},
    ]
    run, output = enrich(cli, tmp_path, bom(components), "--quarantined-as-vulnerability")
    assert output is not None, run.stderr
    assert "Traceback" not in run.stderr
    document = json.loads(output)
    assert document["components"][1]["bom-ref"] == bad_ref  # never overwritten
    assert properties(document, 1)[STATUS] == ["quarantined"]  # still enriched
    [ours] = document["vulnerabilities"]
    assert ours["affects"] == [{"ref": "evil-pkg==0.0.1"}]
    [warning] = [line for line in run.stderr.splitlines() if "bom-ref is not" in line]
    assert "pkg:pypi/evil-pkg@0.0.2" in warning and "left as written" in warning


def test_a_quarantined_project_with_nothing_to_point_at_gets_no_vulnerability(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    components = [{**component("evil-pkg", "0.0.1"), "bom-ref": 7}]
    run, output = enrich(cli, tmp_path, bom(components), "--quarantined-as-vulnerability")
    assert output is not None, run.stderr
    document = json.loads(output)
    assert document["components"][0]["bom-ref"] == 7
    assert "vulnerabilities" not in document
    assert "SBOM-ENRICH-QUARANTINED-evil-pkg not written" in run.stderr


def test_an_empty_xml_bom_ref_of_a_quarantined_component_is_left_as_written(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    data = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">\n'
        b"  <components>\n"
        b'    <component type="library" bom-ref="">\n'
        b"      <name>evil-pkg</name>\n      <version>0.0.1</version>\n"
        b"      <purl>pkg:pypi/evil-pkg@0.0.1</purl>\n"
        b"    </component>\n"
        b"  </components>\n"
        b"</bom>\n"
    )
    source = tmp_path / "in.xml"
    source.write_bytes(data)
    out = tmp_path / "out.xml"
    run = cli(
        "enrich", str(source), "-o", str(out), "--fail-on", "none",
        "--quarantined-as-vulnerability",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    written = out.read_bytes()
    assert b'<component type="library" bom-ref="">' in written
    assert b"<vulnerabilities>" not in written
    assert "bom-ref is not a non-empty string" in run.stderr


def test_quarantined_as_vulnerability_before_1_4_is_skipped_with_a_warning(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    run, output = enrich(
        cli, tmp_path, bom([component("evil-pkg", "0.0.1")], spec="1.3"),
        "--quarantined-as-vulnerability",
    )  # fmt: skip
    assert output is not None, run.stderr
    assert "vulnerabilities" not in json.loads(output)
    assert "CycloneDX 1.3 has no vulnerabilities (1.4+)" in run.stderr


def test_the_vulnerability_reads_back_through_cyclonedx_python_lib(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    from cyclonedx.model.bom import Bom

    run, output = enrich(
        cli, tmp_path, bom([component("evil-pkg", "0.0.1")]), "--quarantined-as-vulnerability"
    )
    assert output is not None, run.stderr
    parsed = Bom.from_json(json.loads(output))  # type: ignore[attr-defined]
    [vulnerability] = parsed.vulnerabilities
    assert vulnerability.id == "SBOM-ENRICH-QUARANTINED-evil-pkg"
    assert list(vulnerability.cwes) == [506]
    assert [str(a.ref) for a in vulnerability.affects] == ["evil-pkg==0.0.1"]
