"""The alternatives catalog: the shipped data file, user overlays and their error messages."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from sbom_enrich.findings import alternatives as alternatives_module
from sbom_enrich.findings.alternatives import (
    Alternative,
    AlternativesCatalog,
    AlternativesError,
    default_user_file,
    offered_alternatives,
    possible_names,
)
from sbom_enrich.status.model import canonical

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DATA_FILE = Path(__file__).parents[2] / "src" / "sbom_enrich" / "data" / "alternatives.toml"
PEP508_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
MODULE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
STDLIB = frozenset(sys.stdlib_module_names)


def raw_projects() -> dict[str, dict[str, object]]:
    with DATA_FILE.open("rb") as handle:
        projects: dict[str, dict[str, object]] = tomllib.load(handle)["projects"]
    return projects


# --- the shipped file -------------------------------------------------------------------------


def test_builtin_has_at_least_forty_entries() -> None:
    assert len(AlternativesCatalog.builtin()) >= 40


def test_builtin_keys_are_canonical_and_unique() -> None:
    keys = list(raw_projects())
    assert [k for k in keys if canonical(k) != k] == []
    assert len(set(keys)) == len(keys)


def test_builtin_entries_are_well_formed() -> None:
    problems: list[str] = []
    for key, entry in raw_projects().items():
        if not str(entry.get("source", "")).strip():
            problems.append(f"{key}: no source")
        items = entry["alternatives"]
        assert isinstance(items, list)
        if not items:
            problems.append(f"{key}: empty list")
        seen: set[str] = set()
        for item in items:
            name, rationale = item["name"], item["rationale"]
            stdlib = item.get("stdlib", False)
            if len(rationale) > 120 or "\n" in rationale or rationale != rationale.strip():
                problems.append(f"{key}: rationale not one line <= 120 chars: {rationale!r}")
            if stdlib:
                if not MODULE_PATH.match(name) or name.split(".")[0] not in STDLIB:
                    problems.append(f"{key}: {name!r} is not a standard-library module")
            else:
                if not PEP508_NAME.match(name):
                    problems.append(f"{key}: {name!r} is not a PEP 508 name")
                if canonical(name) == key:
                    problems.append(f"{key}: suggests itself")
            ident = name if stdlib else canonical(name)
            if ident in seen:
                problems.append(f"{key}: {name!r} listed twice")
            seen.add(ident)
    assert problems == []


def test_builtin_suggestions_for_examples_from_the_issue() -> None:
    catalog = AlternativesCatalog.builtin()
    assert catalog.for_project("pycrypto")[0].name == "pycryptodome"
    assert catalog.for_project("nose")[0].name == "pytest"
    assert catalog.for_project("PIL")[0].name.lower() == "pillow"
    mock = catalog.for_project("mock")
    assert mock == (mock[0],)
    assert mock[0].name == "unittest.mock"
    assert mock[0].stdlib


def test_lookup_uses_canonical_names() -> None:
    catalog = AlternativesCatalog.builtin()
    assert catalog.for_project("Typed_AST") == catalog.for_project("typed-ast") != ()
    assert "TYPED.AST" in catalog
    assert catalog.for_project("requests") == ()
    assert "requests" not in catalog


def test_builtin_is_parsed_once() -> None:
    assert AlternativesCatalog.builtin() is AlternativesCatalog.builtin()


def test_iteration_yields_sorted_canonical_names() -> None:
    names = list(AlternativesCatalog.builtin())
    assert names == sorted(names)
    assert "pycrypto" in names


# --- user files -------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "alternatives.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_user_file_adds_a_project(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[projects.Our_Old_Lib]\n"
        'alternatives = [{ name = "our-new-lib", rationale = "Rewrite" }]\n',
    )
    catalog = AlternativesCatalog.load([path])
    assert catalog.for_project("our-old-lib") == (Alternative("our-new-lib", "Rewrite"),)
    assert len(catalog) == len(AlternativesCatalog.builtin()) + 1
    # The shipped catalog is untouched.
    assert AlternativesCatalog.builtin().for_project("our-old-lib") == ()


def test_user_entry_replaces_the_builtin_list(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[projects.pycrypto]\n"
        'alternatives = [{ name = "cryptography", rationale = "House standard" }]\n',
    )
    catalog = AlternativesCatalog.load([path])
    assert catalog.for_project("pycrypto") == (Alternative("cryptography", "House standard"),)


def test_empty_list_removes_a_builtin_entry(tmp_path: Path) -> None:
    path = write(tmp_path, "[projects.mock]\nalternatives = []\n")
    catalog = AlternativesCatalog.load([path])
    assert catalog.for_project("mock") == ()
    assert "mock" not in catalog
    assert len(catalog) == len(AlternativesCatalog.builtin()) - 1


def test_later_user_files_win(tmp_path: Path) -> None:
    first = write(
        tmp_path, '[projects.x]\nalternatives = [{ name = "a", rationale = "one" }]\n', "1.toml"
    )
    second = write(
        tmp_path, '[projects.x]\nalternatives = [{ name = "b", rationale = "two" }]\n', "2.toml"
    )
    assert AlternativesCatalog.load([first, second]).for_project("x")[0].name == "b"
    assert AlternativesCatalog.load([second, first]).for_project("x")[0].name == "a"


def test_user_rationale_is_sanitized(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[projects.x]\n"
        'alternatives = [{ name = "y", rationale = "ok\\u001b[31m red\\u202e evil\\n next" }]\n',
    )
    rationale = AlternativesCatalog.load([path]).for_project("x")[0].rationale
    assert "\x1b" not in rationale and "\u202e" not in rationale and "\n" not in rationale
    assert rationale.startswith("ok") and rationale.endswith("next")


def test_user_stdlib_alternative(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[projects.pathlib2]\n"
        'alternatives = [{ name = "pathlib", rationale = "stdlib", stdlib = true }]\n',
    )
    (alternative,) = AlternativesCatalog.load([path]).for_project("pathlib2")
    assert alternative.stdlib and alternative.name == "pathlib"


def test_no_user_files_is_the_builtin_catalog() -> None:
    loaded = AlternativesCatalog.load()
    assert len(loaded) == len(AlternativesCatalog.builtin())
    assert loaded.for_project("nose") == AlternativesCatalog.builtin().for_project("nose")


def test_from_toml_alone() -> None:
    catalog = AlternativesCatalog.from_toml(
        '[projects.a]\nalternatives = [{ name = "b", rationale = "why" }]\n'
    )
    assert len(catalog) == 1
    assert catalog.for_project("A") == (Alternative("b", "why"),)


def test_default_user_file_is_in_the_user_config_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "/tmp/xdg-config-test")
    path = default_user_file()
    assert path.name == "alternatives.toml"
    assert "sbom-enrich" in path.parts
    if sys.platform.startswith("linux"):
        assert path == Path("/tmp/xdg-config-test/sbom-enrich/alternatives.toml")


@pytest.mark.parametrize(
    "environment",
    [
        {"XDG_CONFIG_HOME": "/x/config/", "HOME": "/home/u"},
        {"XDG_CONFIG_HOME": "relative/dir", "HOME": "/home/u"},
        {"XDG_CONFIG_HOME": "", "HOME": "/home/u"},
        {"XDG_CONFIG_HOME": "  ", "HOME": "/home/u"},
        {"HOME": "/home/u/"},
        {"HOME": "/"},
        {"HOME": "relative"},
        {},
    ],
)
def test_default_user_file_is_where_platformdirs_puts_it(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]
) -> None:
    """Worked out without importing platformdirs where the environment leaves no doubt, and
    the same path as platformdirs gives in every case."""
    from platformdirs import user_config_dir

    for name in ("XDG_CONFIG_HOME", "HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    try:
        expected = Path(user_config_dir("sbom-enrich", appauthor=False)) / "alternatives.toml"
    except RuntimeError:  # no home directory platformdirs can name: neither can we
        with pytest.raises(RuntimeError):
            default_user_file()
        return
    assert default_user_file() == expected


BAD_FILES = [
    ("[projects.x\n", "invalid TOML"),
    ("[other]\n", "unknown top-level key 'other'"),
    ("projects = 3\n", "'projects' must be a table"),
    ("[projects]\nx = 3\n", "[projects.x]: must be a table"),
    ("[projects.x]\nsource = 'only'\n", "'alternatives' must be a list"),
    ("[projects.x]\nalternatives = 'y'\n", "'alternatives' must be a list"),
    ("[projects.x]\nalternatives = ['y']\n", "must be a table with 'name' and 'rationale'"),
    ("[projects.x]\nalternatives = [{ name = 'y' }]\n", "'rationale' must be a string"),
    ("[projects.x]\nalternatives = [{ rationale = 'r' }]\n", "'name' must be a string"),
    ("[projects.x]\nalternatives = [{ name = 'y', rationale = '  ' }]\n", "'rationale' is empty"),
    ("[projects.x]\nalternatives = [{ name = 'y z', rationale = 'r' }]\n", "not a valid project"),
    (
        "[projects.x]\nalternatives = [{ name = 'a-b', rationale = 'r', stdlib = true }]\n",
        "not a valid standard-library module",
    ),
    (
        "[projects.x]\nalternatives = [{ name = 'y', rationale = 'r', stdlib = 'yes' }]\n",
        "'stdlib' must be true or false",
    ),
    ("[projects.x]\nalternatives = [{ name = 'y', rationale = 'r', why = 1 }]\n", "'why'"),
    ("[projects.x]\nalternatives = []\nnotes = 1\n", "unknown key 'notes'"),
    ("[projects.x]\nalternatives = []\nsource = 1\n", "'source' must be a string"),
    ("[projects.Foo_Bar]\nalternatives = [{ name = 'foo.bar', rationale = 'r' }]\n", "itself"),
    (
        "[projects.x]\n"
        "alternatives = [{ name = 'A', rationale = 'r' }, { name = 'a', rationale = 's' }]\n",
        "listed twice",
    ),
    ("[projects.Foo]\nalternatives = []\n[projects.foo]\nalternatives = []\n", "same project"),
    ("[projects.'-x-']\nalternatives = []\n", "not a valid project name"),
]


@pytest.mark.parametrize(("text", "problem"), BAD_FILES)
def test_bad_user_file_gives_one_line_naming_the_file(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(AlternativesError) as caught:
        AlternativesCatalog.load([path])
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert problem in message


def test_missing_user_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(AlternativesError, match=r"nope\.toml: no such file$"):
        AlternativesCatalog.load([path])


def test_unreadable_user_file(tmp_path: Path) -> None:
    with pytest.raises(AlternativesError) as caught:
        AlternativesCatalog.load([tmp_path])  # a directory
    assert str(caught.value) == f"{tmp_path}: not a regular file"


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_a_path_to_no_regular_file_is_refused_unopened(tmp_path: Path, special: str) -> None:
    """A FIFO (which never ends, or never opens) hung the language server at a settings
    change; /dev/zero filled its memory. The path may come from the repository checked out
    (a policy file's alternatives, an editor's workspace settings)."""
    path = Path(special)
    if special == "fifo":
        path = tmp_path / "alternatives.toml"
        os.mkfifo(path)
    with pytest.raises(AlternativesError, match="not a regular file$"):
        AlternativesCatalog.load([path])


def test_control_characters_in_a_path_are_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(AlternativesError) as caught:
        AlternativesCatalog.load([tmp_path / "\x1b[31mred\nsecond line.toml"])
    assert "\x1b" not in str(caught.value) and "\n" not in str(caught.value)


def test_non_utf8_user_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"[projects.x]\n# caf\xe9\nalternatives = []\n")
    with pytest.raises(AlternativesError, match="not UTF-8"):
        AlternativesCatalog.load([path])


def test_error_is_a_value_error() -> None:
    assert issubclass(AlternativesError, ValueError)


def test_error_message_does_not_echo_control_characters(tmp_path: Path) -> None:
    path = write(tmp_path, '[projects."x\\u001b[2J"]\nalternatives = []\n')
    with pytest.raises(AlternativesError) as caught:
        AlternativesCatalog.load([path])
    assert "\x1b" not in str(caught.value)


# --- the example SBOM shipped in examples/ ----------------------------------------------------

EXAMPLE_SBOM = Path(__file__).parents[2] / "examples" / "sbom.cdx.json"


def test_example_sbom_is_valid_cyclonedx_1_6() -> None:
    validation = pytest.importorskip("cyclonedx.validation.json")
    from cyclonedx.schema import SchemaVersion

    validator = validation.JsonStrictValidator(SchemaVersion.V1_6)
    assert validator.validate_str(EXAMPLE_SBOM.read_text(encoding="utf-8")) is None


def test_example_sbom_mixes_healthy_and_flagged_projects() -> None:
    bom = json.loads(EXAMPLE_SBOM.read_text(encoding="utf-8"))
    components = bom["components"]
    refs = {c["bom-ref"] for c in components} | {bom["metadata"]["component"]["bom-ref"]}
    for component in components:
        assert component["purl"] == f"pkg:pypi/{component['name']}@{component['version']}"
    for dependency in bom["dependencies"]:
        assert dependency["ref"] in refs
        assert set(dependency.get("dependsOn", [])) <= refs
    catalog = AlternativesCatalog.builtin()
    flagged = {c["name"] for c in components if catalog.for_project(c["name"])}
    assert flagged == {"pycrypto", "nose", "typed-ast", "mock"}
    assert 10 <= len(components) <= 15


# --- the shipped catalog is parsed only when it may list a project asked about -----------------


def test_the_shipped_files_headers_name_exactly_its_projects() -> None:
    names = possible_names(DATA_FILE.read_text(encoding="utf-8"))
    assert names == frozenset(AlternativesCatalog.builtin())


def test_a_project_the_shipped_file_does_not_list_is_answered_without_parsing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed = AlternativesCatalog.builtin()

    def parse_again() -> AlternativesCatalog:
        calls.append("parsed")
        return parsed

    calls: list[str] = []
    monkeypatch.setattr(alternatives_module, "_builtin_catalog", parse_again)
    catalog = AlternativesCatalog.load()
    assert catalog.for_project("requests") == ()
    assert catalog.for_project("Graph_Lib.3222") == ()
    assert calls == []  # a warm 10,000-component run parsed ~8 ms of TOML to answer this
    assert catalog.for_project("PyCrypto") == parsed.for_project("pycrypto") != ()
    assert calls == ["parsed"]
    assert catalog.for_project("requests") == ()
    assert len(catalog) == len(parsed)


ENTRY = 'alternatives = [{ name = "new", rationale = "why" }]\n'


@pytest.mark.parametrize(
    "text",
    [
        f"projects.old = {{ {ENTRY.strip().replace(chr(10), '')} }}\n",  # a top-level key
        f"[projects]\nold = {{ {ENTRY.strip()} }}\n",
        f'[projects."old"]\n{ENTRY}',
        f"[ projects.old ]\n{ENTRY}",
        f"[projects.old.alternatives]\n{ENTRY}",
        f'[projects.new]\n{ENTRY}source = """\n[projects]\nold = 1"""\n[projects.x]\n{ENTRY}',
        f'title = "x"\n[projects.old]\n{ENTRY}',
    ],
)
def test_a_catalog_file_of_another_shape_is_not_read_by_its_headers(text: str) -> None:
    assert possible_names(text) is None
    assert tomllib.loads(text)  # valid TOML all the same


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment\n",
        f"# a catalog\n\n[projects.Old_Lib]  # renamed\n{ENTRY}\n\t[projects.other]\n{ENTRY}",
        f'[projects.a]\n{ENTRY}source = """\n[projects.not-a-table]\n"""\n',
    ],
)
def test_a_catalog_files_headers_name_every_project_it_lists(text: str) -> None:
    names = possible_names(text)
    assert names is not None
    listed = {canonical(name) for name in tomllib.loads(text).get("projects", {})}
    assert listed <= names


def test_only_a_dependency_from_the_index_is_offered_alternatives() -> None:
    """The one decision for every front end: a name installed from a URL, a VCS or this
    disk may be a private package bearing a public project's name; that project's
    replacements, the catalog's or its maintainers', are not about it."""
    catalog = AlternativesCatalog.builtin()
    offered = offered_alternatives(catalog, "Nose", from_index=True, recommended=("requests",))
    assert [(a.name, a.source) for a in offered] == [
        ("pytest", "catalog"), ("unittest", "catalog"), ("requests", "maintainers"),
    ]  # fmt: skip
    assert offered_alternatives(catalog, "nose", from_index=False) == ()
    assert offered_alternatives(catalog, "nose", from_index=False, recommended=("requests",)) == ()
