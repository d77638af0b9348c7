"""The build backends themselves are the oracle for dynamic dependencies: what `check` reads
for a pyproject.toml (its tables and the files they name) is what setuptools and hatchling
with hatch-requirements-txt put in the built metadata, and a field neither of us can see is
reported, never passed over.

setuptools (``apply_configuration``, in a process of its own) and hatchling
(``ProjectMetadata``, which runs the plugin as a build does) read each project; nothing is
built or downloaded.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from sbom_enrich.manifests.check import read_manifests
from sbom_enrich.status.model import canonical

FILES = {
    "requirements.txt": "requests==2.32.3\n# a comment\nnose\n",
    "extra.txt": "Flask>=3 ; python_version > '3'\n",
    "docs.txt": "Sphinx\n",
}

HATCH = (
    '[project]\nname = "app"\nversion = "1"\n'
    'dynamic = ["dependencies", "optional-dependencies"]\n\n'
    "[tool.hatch.metadata.hooks.requirements_txt]\n"
    "{files}\n"
    "[tool.hatch.metadata.hooks.requirements_txt.optional-dependencies]\n"
    'docs = ["docs.txt"]\n'
)

SETUPTOOLS = (
    '[project]\nname = "app"\nversion = "1"\n'
    'dynamic = ["dependencies", "optional-dependencies"]\n\n'
    "[tool.setuptools.dynamic]\n"
    "dependencies = {files}\n"
    'optional-dependencies.docs = {{ file = ["docs.txt"] }}\n'
)


def _ours(project: Path) -> set[str]:
    manifests = read_manifests([project / "pyproject.toml"], project)
    assert manifests.problems == () and manifests.warnings == ()
    return manifests.names()


def _names(requirements: list[str]) -> set[str]:
    return {canonical(Requirement(text).name) for text in requirements}


def _hatchling(project: Path) -> set[str]:
    pytest.importorskip("hatch_requirements_txt")
    from hatchling.metadata.core import ProjectMetadata
    from hatchling.plugin.manager import PluginManager

    metadata = ProjectMetadata(str(project), PluginManager())
    found = _names(metadata.core.dependencies)
    for extra in metadata.core.optional_dependencies.values():
        found |= _names(extra)
    return found


#: What setuptools puts in the metadata it builds (install_requires, extras_require), printed
#: as JSON by a process of its own: setuptools refuses to load after another test imported
#: the standard library's distutils.
_SETUPTOOLS_METADATA = """
import json, warnings
warnings.simplefilter("ignore")  # setuptools calls its [tool.setuptools] table beta
from setuptools.config.pyprojecttoml import apply_configuration
from setuptools.dist import Distribution
dist = apply_configuration(Distribution(), "pyproject.toml")
print(json.dumps([*dist.install_requires, *(r for e in dist.extras_require.values() for r in e)]))
"""


def _setuptools(project: Path) -> set[str]:
    if importlib.util.find_spec("setuptools") is None:  # not imported here: see above
        pytest.skip("setuptools is not installed")
    done = subprocess.run(
        [sys.executable, "-c", _SETUPTOOLS_METADATA],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    return _names(json.loads(done.stdout))


@pytest.mark.parametrize(
    ("template", "files", "backend"),
    [
        (HATCH, 'files = ["requirements.txt", "extra.txt"]', _hatchling),
        (HATCH, 'filename = "requirements.txt"', _hatchling),  # the older spelling
        (HATCH, "", _hatchling),  # no file named: the plugin's default, requirements.txt
        (SETUPTOOLS, '{ file = ["requirements.txt", "extra.txt"] }', _setuptools),
        (SETUPTOOLS, '{ file = "requirements.txt" }', _setuptools),
    ],
)
def test_the_files_a_build_backend_reads_are_the_files_check_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: str, files: str, backend: object
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name, text in FILES.items():
        (project / name).write_text(text)
    (project / "pyproject.toml").write_text(template.format(files=files))
    monkeypatch.chdir(project)  # the backends read the files from the folder they build in
    with warnings.catch_warnings():
        # The plugin's older spellings are deprecated; setuptools calls its table beta.
        warnings.simplefilter("ignore")
        expected = backend(project)  # type: ignore[operator]
    assert expected  # the oracle read something: the comparison below means something
    assert _ours(project) == expected


def test_a_field_the_backend_fills_from_code_is_reported_not_passed(tmp_path: Path) -> None:
    """setup.py's install_requires: setuptools reads it when it builds, neither of us can read
    it from the file, so the run that reads only this file says so (a problem: exit 3)."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "1"\ndynamic = ["dependencies"]\n'
    )
    setup = "from setuptools import setup\nsetup(install_requires=['nose'])\n"
    (project / "setup.py").write_text(setup)
    manifests = read_manifests([project / "pyproject.toml"], project)
    assert manifests.names() == set()
    [problem] = manifests.problems
    assert problem.code == "dynamic-dependencies"
    assert (problem.location.line, problem.location.column) == (4, 13)
