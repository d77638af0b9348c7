"""The GitHub Action: scripts/action-run with a fake step summary and outputs, and action.yml."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import jsonschema
import yaml

from indexserver import IndexServer, MakeIndexServer, ProjectSpec

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text())


def action_run(
    cwd: Path, index: IndexServer, tmp: Path, mapped: Mapping[str, str] | None = None, **inputs: str
) -> tuple[int, str, dict]:
    """Run the script; ``mapped``: more ``SBOM_ENRICH_*`` variables, as action.yml sets them."""
    summary, output = tmp / "summary.md", tmp / "output.txt"
    summary.write_text("earlier step\n")
    env = {
        **os.environ,
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_WORKSPACE": str(tmp),
        "SBOM_ENRICH_INDEX_URL": index.url,
        "SBOM_ENRICH_CACHE_DIR": str(tmp / "cache"),
        "SBOM_ENRICH_FAIL_ON": "",  # an empty input: the default (or the policy file) applies
        **{f"INPUT_{key.upper()}": value for key, value in inputs.items()},
        **(mapped or {}),
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "action-run")],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return done.returncode, summary.read_text(), outputs


def test_manifests_in_the_working_directory_fail_on_quarantined(
    tmp_path: Path, index_server: IndexServer
) -> None:
    project = tmp_path / "app"
    project.mkdir()
    (project / "requirements.txt").write_text("requests==2.32.3\nevil-pkg\nnose\n")
    code, summary, outputs = action_run(project, index_server, tmp_path)
    assert code == 1 and outputs["exit-code"] == "1"
    assert summary.startswith("earlier step\n## sbom-enrich")  # appended, not replaced
    assert "❌ **Policy failed**" in summary and "| evil-pkg |" in summary
    sarif = json.loads(Path(outputs["sarif-file"]).read_text())
    jsonschema.Draft7Validator(SCHEMA).validate(sarif)
    [run] = sarif["runs"]
    assert run["automationDetails"] == {"id": "sbom-enrich/check/"}
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert uris == {"app/requirements.txt"}  # relative to the workspace, as code scanning wants


def test_sboms_and_manifests_together_with_a_markdown_report(
    tmp_path: Path, index_server: IndexServer
) -> None:
    (tmp_path / "requirements.txt").write_text("nose\n")
    sbom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [
        {"type": "library", "name": "pycrypto", "purl": "pkg:pypi/pycrypto@2.6.1"}]}  # fmt: skip
    (tmp_path / "app.cdx.json").write_text(json.dumps(sbom))
    code, summary, outputs = action_run(
        tmp_path, index_server, tmp_path,
        sboms="app.cdx.json", manifests="requirements.txt", report_format="markdown",
        output_dir="out",
    )  # fmt: skip
    assert code == 0 and "sarif-file" not in outputs
    assert summary.count("## sbom-enrich") == 2
    assert "pycryptodome" in summary and "nose" in summary
    enriched = json.loads((tmp_path / "out" / "app.enriched.cdx.json").read_text())
    assert enriched["version"] == 2
    assert Path(outputs["results-dir"]) == (tmp_path / "out").resolve()


def test_a_usage_error_wins_and_is_in_the_summary(
    tmp_path: Path, index_server: IndexServer
) -> None:
    (tmp_path / "requirements.txt").write_text("evil-pkg\n")
    code, summary, outputs = action_run(
        tmp_path, index_server, tmp_path, sboms="missing.json", manifests="requirements.txt"
    )
    assert code == 2 and outputs["exit-code"] == "2"
    assert "failed (exit code 2)" in summary and "Policy failed" in summary


def test_action_yml_maps_every_input_and_runs_the_script() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    text = (ROOT / "action.yml").read_text()
    used = set(re.findall(r"inputs\.([a-z-]+)", text))
    assert used == set(action["inputs"]), used ^ set(action["inputs"])
    steps = {step.get("id") or step["name"]: step for step in action["runs"]["steps"]}
    assert "scripts/action-run" in steps["run"]["run"]
    upload = steps["Upload SARIF to code scanning"]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert "inputs.upload-sarif == 'true'" in upload["if"]
    assert set(action["outputs"]) == {"exit-code", "results-dir", "sarif-file"}


def step_env(**inputs: str) -> dict[str, str]:
    """The run step's environment as action.yml maps ``inputs`` (the defaults for the rest)."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    [step] = [s for s in action["runs"]["steps"] if s.get("id") == "run"]
    values = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    values.update({name.replace("_", "-"): value for name, value in inputs.items()})
    return {
        var: re.sub(r"\$\{\{ inputs\.([a-z-]+) \}\}", lambda m: values[m.group(1)], value)
        for var, value in step["env"].items()
    }


def test_the_no_lock_indexes_input_asks_no_index_a_lock_names(
    tmp_path: Path, index_server: IndexServer, make_index_server: MakeIndexServer
) -> None:
    # A lock from a pull request sends "nose" to an index of its own: with the input set, that
    # index is never asked and the run is incomplete (exit 3), as with --no-lock-indexes.
    private = make_index_server([ProjectSpec("nose", status="active")])
    (tmp_path / "uv.lock").write_text(
        'version = 1\n\n[[package]]\nname = "nose"\nversion = "1.3.7"\n'
        f'source = {{ registry = "{private.url}" }}\n'
    )
    mapped = {
        var: value
        for var, value in step_env(no_lock_indexes="true").items()
        if var == "SBOM_ENRICH_NO_LOCK_INDEXES"
    }
    assert mapped == {"SBOM_ENRICH_NO_LOCK_INDEXES": "true"}
    code, summary, outputs = action_run(
        tmp_path, index_server, tmp_path, mapped, manifests="uv.lock", report_format="markdown"
    )
    assert code == 3 and outputs["exit-code"] == "3", summary
    assert private.stats.by_project.get("nose", 0) == 0
    # Left empty (the default), the lock's index is asked, as before.
    default = {var: value for var, value in step_env().items() if var in mapped}
    code, summary, outputs = action_run(
        tmp_path, index_server, tmp_path, default, manifests="uv.lock", report_format="markdown"
    )
    assert code == 0, summary
    assert private.stats.by_project["nose"] >= 1
