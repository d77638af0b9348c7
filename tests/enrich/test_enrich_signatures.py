"""Signed SBOMs: refused by default, stripped or kept on request, never broken silently.

JSON: a real JSF-signed SBOM made by cdxgen's cdx-sign (data/signed/make-signed.sh), and
cdx-verify when it is installed (skipped otherwise). XML: an enveloped XML Signature made and
verified by signxml at test time.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from cli_runner import Run
from sbom_enrich.enrich import SignedSbomError, apply_signature_policy, load_sbom

SIGNED = Path(__file__).resolve().parent / "data" / "signed"
JSF = SIGNED / "cdxgen-signed-1.5.json"
XML_SOURCE = Path(__file__).resolve().parent.parent / "data" / "sboms"
DSIG = "{http://www.w3.org/2000/09/xmldsig#}"


def run_enrich(
    cli: Callable[..., Run], tmp_path: Path, source: Path, *argv: str, **kwargs: Any
) -> tuple[Run, Path]:
    output = tmp_path / f"out{source.suffix}"
    output.unlink(missing_ok=True)
    return cli(
        "enrich", str(source), "-o", str(output), "--fail-on", "none", *argv, **kwargs
    ), output


def signature_texts(data: bytes) -> list[str]:
    """The JSF signature members as written: ``"signature":{...}``."""
    text = data.decode()
    found = []
    start = text.find('"signature"')
    while start >= 0:
        depth, opening = 0, text.index("{", start)
        index = opening
        for index in range(opening, len(text)):
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            if depth == 0:
                break
        found.append(text[start : index + 1])
        start = text.find('"signature"', index)
    return found


def test_the_fixture_is_signed_on_the_bom_and_every_component() -> None:
    kinds = load_sbom(JSF.read_bytes()).signatures()
    assert kinds.count("bom") == 1 and kinds.count("component") == 9


def test_a_signed_sbom_is_refused_by_default_with_one_line_and_nothing_written(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    run, output = run_enrich(cli, tmp_path, JSF)
    assert run.code == 2
    assert not output.exists()
    [line] = [line for line in run.stderr.splitlines() if line.strip()]
    assert "the SBOM is signed (JSF signatures on the BOM and 9 components)" in line
    assert "--signatures strip" in line and "--signatures keep" in line


def test_strip_removes_every_signature_and_says_so(cli: Callable[..., Run], tmp_path: Path) -> None:
    run, output = run_enrich(cli, tmp_path, JSF, "--signatures", "strip")
    assert run.code == 0, run.stderr
    data = output.read_bytes()
    assert b'"signature"' not in data
    assert load_sbom(data).signatures() == []
    assert "removed 10 JSF signatures (on the BOM and 9 components); re-sign" in run.stderr


def test_stripping_cdx_sign_signatures_gives_back_the_unsigned_bytes() -> None:
    # cdx-sign added only the signature members to the file it signed; removing them by
    # splicing gives that file back byte for byte.
    sbom = load_sbom(JSF.read_bytes())
    assert sbom.remove_signatures() == 10
    assert sbom.to_bytes() == (XML_SOURCE / "cdxgen-python-1.5.json").read_bytes()


def test_keep_writes_the_signatures_unchanged_with_a_warning(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    run, output = run_enrich(cli, tmp_path, JSF, env={"SBOM_ENRICH_SIGNATURES": "keep"})
    assert run.code == 0, run.stderr
    assert signature_texts(output.read_bytes()) == signature_texts(JSF.read_bytes())
    assert "kept 10 JSF signatures" in run.stderr and "no longer verify" in run.stderr


def test_a_bad_signatures_value_is_a_usage_error(cli: Callable[..., Run], tmp_path: Path) -> None:
    run, _ = run_enrich(cli, tmp_path, JSF, env={"SBOM_ENRICH_SIGNATURES": "ignore"})
    assert run.code == 2 and "SBOM_ENRICH_SIGNATURES" in run.stderr


#: Where scripts/ensure-cdxgen puts cdxgen (the real signer and verifier).
CDXGEN_BIN = Path(__file__).resolve().parents[2] / ".tools" / "cdxgen" / "node_modules" / ".bin"


def _cdx_tool(name: str) -> str | None:
    local = CDXGEN_BIN / name
    found = os.environ.get(name.upper().replace("-", "_")) or shutil.which(name)
    return found or (str(local) if local.is_file() else None)


def _cdx_verify() -> str | None:
    return _cdx_tool("cdx-verify")


@pytest.mark.skipif(_cdx_verify() is None, reason="cdx-verify (npm @cyclonedx/cdxgen) not here")
def test_cdx_verify_rejects_kept_signatures_and_accepts_the_input(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    verify = _cdx_verify()
    assert verify is not None
    key = SIGNED / "cdxgen-signed-1.5.public.pem"

    def verifies(path: Path) -> bool:
        done = subprocess.run(
            [verify, "-i", str(path), "--public-key", str(key)],
            capture_output=True,
            check=False,
            timeout=120,
        )
        return done.returncode == 0

    assert verifies(JSF)
    _, output = run_enrich(cli, tmp_path, JSF, "--signatures", "keep")
    assert not verifies(output)  # what the warning says: they no longer verify


@pytest.mark.skipif(
    _cdx_verify() is None or _cdx_tool("cdx-sign") is None or shutil.which("openssl") is None,
    reason="cdx-sign/cdx-verify (scripts/ensure-cdxgen) or openssl not here",
)
def test_the_documented_re_signing_recipe_verifies(cli: Callable[..., Run], tmp_path: Path) -> None:
    # docs/signatures.md: enrich with --signatures strip, cdx-sign the output, cdx-verify it.
    sign, verify = _cdx_tool("cdx-sign"), _cdx_verify()
    assert sign is not None and verify is not None
    private, public = tmp_path / "private.pem", tmp_path / "public.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True
    )
    subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-out", str(public)],
        check=True,
        capture_output=True,
    )
    run, enriched = run_enrich(cli, tmp_path, JSF, "--signatures", "strip")
    assert run.code == 0, run.stderr
    signed = tmp_path / "enriched.signed.json"
    done = subprocess.run(
        [sign, "-i", str(enriched), "-o", str(signed), "-k", str(private), "-a", "RS512"],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert b"sbom-enrich:" in signed.read_bytes()  # the enrichment is what got signed
    checked = subprocess.run(
        [verify, "-i", str(signed), "--public-key", str(public)],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


# -- XML Signature ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signed_xml(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """An enveloped XML Signature over a real cyclonedx-py SBOM, and the signing cert (PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    from signxml import XMLSigner  # type: ignore[import-untyped]

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sbom-enrich test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    root = etree.fromstring((XML_SOURCE / "cyclonedx-py-requirements-1.6.xml").read_bytes())
    signed = XMLSigner().sign(root, key=key_pem, cert=cert_pem)
    path = tmp_path_factory.mktemp("signed") / "signed.xml"
    path.write_bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))
    return path, cert_pem


def _xml_verifies(data: bytes, cert_pem: bytes) -> bool:
    from signxml import InvalidSignature, XMLVerifier

    try:
        XMLVerifier().verify(data, x509_cert=cert_pem)
    except InvalidSignature:
        return False
    return True


def test_xml_signature_is_refused_by_default(
    cli: Callable[..., Run], tmp_path: Path, signed_xml: tuple[Path, bytes]
) -> None:
    path, cert = signed_xml
    assert _xml_verifies(path.read_bytes(), cert)  # the fixture is really signed
    run, output = run_enrich(cli, tmp_path, path)
    assert run.code == 2 and not output.exists()
    assert "XML Signature on the BOM" in run.stderr


def test_xml_signature_kept_no_longer_verifies_and_stripped_is_gone(
    cli: Callable[..., Run], tmp_path: Path, signed_xml: tuple[Path, bytes]
) -> None:
    path, cert = signed_xml
    run, output = run_enrich(cli, tmp_path, path, "--signatures", "keep")
    assert run.code == 0, run.stderr
    kept = output.read_bytes()
    assert kept.count(b"SignatureValue") == path.read_bytes().count(b"SignatureValue") == 2
    assert not _xml_verifies(kept, cert)
    assert "kept 1 XML Signature (on the BOM) unchanged" in run.stderr

    run, output = run_enrich(cli, tmp_path, path, "--signatures", "strip")
    assert run.code == 0, run.stderr
    stripped = output.read_bytes()
    assert etree.fromstring(stripped).find(f".//{DSIG}Signature") is None
    assert b"Signature" not in stripped
    assert "removed 1 XML Signature (on the BOM)" in run.stderr


def test_the_policy_function_refuses_with_one_line() -> None:
    sbom = load_sbom(JSF.read_bytes(), source="signed.json")
    with pytest.raises(SignedSbomError) as caught:
        apply_signature_policy(sbom, "refuse")
    assert str(caught.value).startswith("signed.json: the SBOM is signed")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "key", ["sign\\u0061ture", "\\u0073ignature", "signatur\\u0065", "\\u0073\\u0069gnature"]
)
def test_a_signature_key_written_with_escapes_is_found(key: str) -> None:
    """Every JSON reader reads "sign\\u0061ture" as "signature". The reader looked for
    signatures only in a text holding the plain word, so such a signed SBOM was enriched over
    as if unsigned, its signature broken without a word."""
    text = JSF.read_text(encoding="utf-8").replace('"signature"', f'"{key}"')
    assert '"signature"' not in text
    kinds = load_sbom(text.encode()).signatures()
    assert kinds.count("bom") == 1 and kinds.count("component") == 9
    stripped = load_sbom(text.encode())
    assert stripped.remove_signatures() == 10
    assert key not in stripped.to_bytes().decode()
