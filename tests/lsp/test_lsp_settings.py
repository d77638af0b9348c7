"""Language-server settings: payload over env twins over defaults; bad values reported once."""

from __future__ import annotations

from pathlib import Path

from lsprotocol.types import DiagnosticSeverity

from lsp.lsp_settings import DEFAULT_DEBOUNCE, LSP_CONCURRENCY, parse_lsp_settings, unknown_keys
from sbom_enrich.status.urls import PYPI_SIMPLE_URL


def test_defaults_follow_the_design_table() -> None:
    result = parse_lsp_settings(None, env={})
    settings = result.settings
    assert result.problems == ()
    assert result.message() is None
    assert settings.client.index_url == PYPI_SIMPLE_URL
    assert settings.severity_of("quarantined") == DiagnosticSeverity.Error
    assert settings.severity_of("archived") == DiagnosticSeverity.Warning
    assert settings.severity_of("deprecated") == DiagnosticSeverity.Warning
    assert settings.severity_of("not-found") == DiagnosticSeverity.Warning
    assert settings.severity_of("active") is None
    assert settings.severity_of("unknown") is None
    assert settings.debounce == DEFAULT_DEBOUNCE


def test_options_override_env_twins(tmp_path: Path) -> None:
    env = {
        "SBOM_ENRICH_INDEX_URL": "https://env.example/simple",
        "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "env"),
    }
    only_env = parse_lsp_settings({}, env=env).settings
    assert only_env.client.index_url == "https://env.example/simple/"
    assert only_env.client.cache_dir == tmp_path / "env"
    options = {"indexUrl": "http://127.0.0.1:1/simple", "cacheDir": str(tmp_path / "opt")}
    both = parse_lsp_settings(options, env=env).settings
    assert both.client.index_url == "http://127.0.0.1:1/simple/"
    assert both.client.cache_dir == tmp_path / "opt"


def test_nested_section_severity_ignore_and_offline() -> None:
    payload = {
        "sbomEnrich": {
            "severity": {"archived": "Error", "deprecated": "none", "unknown": "hint"},
            "ignore": ["Py_Crypto", "nose"],
            "offline": True,
        }
    }
    result = parse_lsp_settings(payload, env={})
    assert result.problems == ()
    settings = result.settings
    assert settings.severity_of("archived") == DiagnosticSeverity.Error
    assert settings.severity_of("deprecated") is None
    assert settings.severity_of("unknown") == DiagnosticSeverity.Hint
    assert settings.severity_of("quarantined") == DiagnosticSeverity.Error  # untouched default
    assert settings.ignore == frozenset({"py-crypto", "nose"})
    assert settings.client.offline is True


def test_each_invalid_value_falls_back_and_all_are_in_one_message() -> None:
    payload = {
        "indexUrl": "ftp://nope",
        "severity": {"archived": "loud", "nonsense": "error", "quarantined": "warning"},
        "ignore": "pycrypto",
        "debounceMs": -5,
        "offline": "maybe",
    }
    result = parse_lsp_settings(payload, env={})
    settings = result.settings
    assert settings.client.index_url == PYPI_SIMPLE_URL
    assert settings.severity_of("archived") == DiagnosticSeverity.Warning
    assert settings.severity_of("quarantined") == DiagnosticSeverity.Warning  # the valid one kept
    assert settings.ignore == frozenset()
    assert settings.debounce == DEFAULT_DEBOUNCE
    assert settings.client.offline is False
    assert len(result.problems) == 6
    message = result.message()
    assert message is not None and "\n" not in message
    assert "indexUrl" in message and "severity.archived" in message and "debounceMs" in message
    # Not the default index in its place: no index at all, until it is fixed.
    assert settings.index_refused is not None and settings.index_refused.startswith("indexUrl")
    assert "(no index is asked until it is fixed); defaults used for: offline" in message


def test_invalid_env_variable_is_dropped_but_valid_ones_kept(tmp_path: Path) -> None:
    env = {"SBOM_ENRICH_INDEX_URL": "not a url", "SBOM_ENRICH_CACHE_DIR": str(tmp_path)}
    result = parse_lsp_settings(None, env=env)
    assert result.settings.client.index_url == PYPI_SIMPLE_URL
    assert result.settings.client.cache_dir == tmp_path
    assert len(result.problems) == 1 and "SBOM_ENRICH_INDEX_URL" in result.problems[0]
    assert result.settings.index_refused == result.problems[0]
    # A valid indexUrl option wins over its invalid env twin: that index is asked.
    fixed = parse_lsp_settings({"indexUrl": "http://127.0.0.1:1/simple"}, env=env).settings
    assert fixed.index_refused is None and fixed.client.index_url == "http://127.0.0.1:1/simple/"


def test_only_an_invalid_index_url_refuses_the_index() -> None:
    result = parse_lsp_settings({"debounceMs": -5}, env={})
    assert result.settings.index_refused is None
    assert result.message() == (
        "sbom-enrich: invalid settings: defaults used for: "
        "debounceMs: expected milliseconds between 0 and 10000"
    )


def test_credentials_in_a_bad_url_are_not_echoed() -> None:
    result = parse_lsp_settings({"indexUrl": "ftp://user:secret@host/simple"}, env={})
    assert "secret" not in (result.message() or "")


def test_non_object_payload_is_reported() -> None:
    result = parse_lsp_settings(["indexUrl"], env={})
    assert result.problems and result.settings.client.index_url == PYPI_SIMPLE_URL


def test_editor_concurrency_default_and_its_env_twin() -> None:
    assert parse_lsp_settings(None, env={}).settings.client.concurrency == LSP_CONCURRENCY
    env = {"SBOM_ENRICH_CONCURRENCY": "5"}
    assert parse_lsp_settings(None, env=env).settings.client.concurrency == 5


def test_only_payloads_with_our_settings_concern_us() -> None:
    from lsp.lsp_settings import concerns_us

    assert concerns_us({"sbomEnrich": {"offline": True}})
    assert concerns_us({"indexUrl": "https://example.org/simple/"})
    assert not concerns_us({})
    assert not concerns_us({"pylsp": {"plugins": {}}})
    assert not concerns_us(None)


def test_maintenance_is_off_by_default_and_on_from_the_setting_or_its_env_twin() -> None:
    assert parse_lsp_settings(None, env={}).settings.maintenance is False
    assert parse_lsp_settings({"maintenance": True}, env={}).settings.maintenance is True
    assert parse_lsp_settings(None, env={"SBOM_ENRICH_MAINTENANCE": "1"}).settings.maintenance
    result = parse_lsp_settings({"maintenance": "sometimes"}, env={})
    assert result.settings.maintenance is False
    assert any("maintenance" in problem for problem in result.problems)


def test_lock_indexes_are_followed_by_default_and_the_setting_turns_it_off() -> None:
    assert parse_lsp_settings(None, env={}).settings.lock_indexes is True
    assert parse_lsp_settings({"lockIndexes": False}, env={}).settings.lock_indexes is False
    assert parse_lsp_settings({"lockIndexes": "no"}, env={}).settings.lock_indexes is False
    result = parse_lsp_settings({"lockIndexes": "perhaps"}, env={})
    assert result.settings.lock_indexes is True
    assert any("lockIndexes" in problem for problem in result.problems)
    assert "lockIndexes" not in unknown_keys({"lockIndexes": True})


def test_a_path_whose_home_does_not_exist_is_reported_not_raised() -> None:
    # Was: RuntimeError from pathlib, which failed the initialize and stopped the server.
    payload = {
        "cacheDir": "~no-such-user-xyz/cache",
        "alternativesFiles": ["~no-such-user-xyz/alt.toml", "/etc/alt.toml"],
    }
    result = parse_lsp_settings(payload, env={})
    assert result.settings.client.cache_dir is None  # the default
    assert result.settings.alternatives_files == (Path("/etc/alt.toml"),)
    assert [problem.split(":")[0] for problem in result.problems] == [
        "cacheDir",
        "alternativesFiles",
    ]
    assert "'~no-such-user-xyz/cache'" in result.problems[0]
