"""``--maintenance`` through main(): the test index plus a fake forge and JSON API on 127.0.0.1."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cli_runner import Run
from fakeforge import FakeForge, FakeRepo
from indexserver import IndexServer, MakeIndexServer, ProjectSpec, release

SECRET = "ghp_cli_S3CRET_never_print_me"
NOSE_DESCRIPTION = """\
nose is nicer testing for python
================================

**Note to Users**: Nose has been in maintenance mode for the past several years and will
likely cease without a new person/team to take over maintainership. New projects should
consider using [Nose2](https://github.com/nose-devs/nose2), py.test, or plain unittest.

This project is deprecated: please use `requests` instead, or `evil-pkg`, or
`pip install not-on-the-index`.
"""


@pytest.fixture
def forge() -> Iterator[FakeForge]:
    with FakeForge(
        github={
            "psf/requests": FakeRepo(),
            "pycrypto/pycrypto": FakeRepo(archived=True, pushed_at="2014-06-20T00:00:00Z"),
            "nose-devs/nose": FakeRepo(
                pushed_at="2016-02-01T00:00:00Z", committed_at="2016-01-31T00:00:00Z"
            ),
        },
        projects={
            "nose": {
                "info": {
                    "name": "nose",
                    "home_page": "http://readthedocs.org/docs/nose/",
                    "project_urls": {"Source": "https://github.com/nose-devs/nose"},
                    "description": NOSE_DESCRIPTION,
                }
            }
        },
    ) as server:
        yield server


def sbom() -> bytes:
    def comp(name: str, version: str, vcs: str | None) -> dict[str, object]:
        component: dict[str, object] = {
            "type": "library",
            "name": name,
            "version": version,
            "purl": f"pkg:pypi/{name}@{version}",
        }
        if vcs:
            component["externalReferences"] = [
                {"type": "website", "url": "https://example.org/docs"},
                {"type": "vcs", "url": vcs},
            ]
        return component

    return json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "version": 1,
            "components": [
                comp("requests", "2.32.3", "https://github.com/psf/requests"),
                comp("pycrypto", "2.6.1", "git+https://github.com/pycrypto/pycrypto.git"),
                comp("nose", "1.3.7", None),  # located through the JSON project API
            ],
        }
    ).encode()


def forge_env(forge: FakeForge, **more: str) -> dict[str, str]:
    return {
        "SBOM_ENRICH_GITHUB_API_URL": f"{forge.url}/github",
        "SBOM_ENRICH_PROJECT_API_URL": f"{forge.url}/pypi",
        "GITHUB_TOKEN": SECRET,
        **more,
    }


def props(component: dict[str, object]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for prop in component.get("properties", []):  # type: ignore[union-attr]
        found.setdefault(prop["name"], []).append(prop["value"])
    return found


def test_enrich_writes_the_maintenance_properties_apart_from_the_status(
    cli: Callable[..., Run], forge: FakeForge, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.json"
    run = cli(
        "enrich", "-", "--maintenance", "--summary-json", str(summary),
        stdin=sbom(), env=forge_env(forge),
    )  # fmt: skip
    assert run.code == 0, run.stderr
    components = {c["name"]: props(c) for c in json.loads(run.stdout)["components"]}
    requests, pycrypto, nose = components["requests"], components["pycrypto"], components["nose"]
    assert requests["sbom-enrich:maintenance"] == ["active"]
    assert requests["sbom-enrich:repo:url"] == ["https://github.com/psf/requests"]
    assert requests["sbom-enrich:repo:archived"] == ["false"]
    assert requests["sbom-enrich:repo:last-commit"] == ["2026-11-01T09:00:00Z"]
    # The index's status stays the index's; the repository's state is a property of its own.
    assert pycrypto["sbom-enrich:pypi:project-status"] == ["archived"]
    assert pycrypto["sbom-enrich:maintenance"] == ["repository-archived"]
    assert pycrypto["sbom-enrich:repo:archived"] == ["true"]
    assert nose["sbom-enrich:pypi:project-status"] == ["deprecated"]
    assert nose["sbom-enrich:maintenance"] == ["stale"]
    assert nose["sbom-enrich:repo:url"] == ["https://github.com/nose-devs/nose"]
    # Its maintainers' recommendation, verified on the index: requests is active there;
    # evil-pkg (quarantined) and not-on-the-index (404) are dropped.
    assert nose["sbom-enrich:alternative:recommended-by-maintainers"] == ["requests"]
    assert "requests" in nose["sbom-enrich:alternative"]
    assert "recommended by its maintainers: requests" in run.stderr
    assert "maintenance: stale" in run.stderr
    report = {c["name"]: c for c in json.loads(summary.read_text())["components"]}
    assert report["pycrypto"]["maintenance"]["verdict"] == "repository-archived"
    assert report["pycrypto"]["status"] == "archived"
    sources = {a["name"]: a["source"] for a in report["nose"]["alternatives"]}
    assert sources["requests"] == "maintainers"
    assert forge.count("/github/graphql") == 1
    assert SECRET not in run.stderr and SECRET not in run.stdout.decode()


def test_off_by_default_nothing_is_asked(cli: Callable[..., Run], forge: FakeForge) -> None:
    run = cli("enrich", "-", stdin=sbom(), env=forge_env(forge))
    assert run.code == 0, run.stderr
    assert forge.seen == []
    assert "sbom-enrich:maintenance" not in run.stdout.decode()


def test_fail_on_repo_archived_and_stale(cli: Callable[..., Run], forge: FakeForge) -> None:
    run = cli(
        "enrich", "-", "--maintenance", "--fail-on", "repo-archived",
        stdin=sbom(), env=forge_env(forge),
    )  # fmt: skip
    assert run.code == 1
    assert "pycrypto (repo-archived)" in run.stderr
    run = cli(
        "enrich", "-", "--fail-on", "stale", stdin=sbom(),
        env=forge_env(forge, SBOM_ENRICH_MAINTENANCE="1"),
    )  # fmt: skip
    assert run.code == 1
    assert "nose (stale)" in run.stderr


def test_the_policy_file_turns_it_on_for_check(
    check: Callable[..., Run], forge: FakeForge, project: Path
) -> None:
    (project / "requirements.txt").write_text(
        "nose==1.3.7\nrequests==2.32.3\nno-such-project==1.0\n"
    )
    (project / ".sbom-enrich.toml").write_text('maintenance = true\nfail-on = ["stale"]\n')
    run = check(env=forge_env(forge))
    assert run.code == 1, run.stderr
    assert "nose (stale)" in run.stderr
    assert "recommended by its maintainers: requests" in run.stderr
    # Nothing is asked about a project the index does not have.
    assert not any("no-such-project" in seen.path for seen in forge.seen)
    assert forge.count("/pypi/nose/json") == 1


def test_without_a_token_the_run_says_so_and_finishes(
    cli: Callable[..., Run], forge: FakeForge
) -> None:
    forge.rate_limit = 1
    run = cli(
        "enrich", "-", "--maintenance", stdin=sbom(),
        env=forge_env(forge, GITHUB_TOKEN=""),
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert "GITHUB_TOKEN is not set" in run.stderr
    assert "rate limited" in run.stderr
    assert forge.count("/github/graphql") == 0


@pytest.mark.parametrize("command", ["enrich", "check"])
def test_help_says_what_is_sent_where(
    cli: Callable[..., Run], capsys: pytest.CaptureFixture[str], command: str
) -> None:
    with pytest.raises(SystemExit):
        cli(command, "--help")
    shown = " ".join(capsys.readouterr().out.split())
    assert "--maintenance" in shown
    assert "/pypi/<name>/json" in shown
    assert "GITHUB_TOKEN, GITLAB_TOKEN or GITEA_TOKEN when set (never printed)" in shown


def test_an_api_url_with_credentials_is_a_usage_error(
    cli: Callable[..., Run], forge: FakeForge
) -> None:
    run = cli(
        "enrich", "-", "--maintenance", "--github-api-url", "https://user:tok@ghe.example/api/v3",
        stdin=sbom(), env=forge_env(forge),
    )  # fmt: skip
    assert run.code == 2
    assert "user:tok" not in run.stderr and "credentials" in run.stderr


def test_status_takes_maintenance_too(
    cli: Callable[..., Run], forge: FakeForge, tmp_path: Path
) -> None:
    run = cli(
        "status", "nose", "requests", "--maintenance", "--json",
        env=forge_env(forge, GITHUB_TOKEN=""),
    )  # fmt: skip
    assert run.code == 0, run.stderr
    answers = {a["name"]: a for a in json.loads(run.stdout)}
    assert answers["nose"]["maintenance"]["verdict"] == "stale"
    # requests: no project metadata here, so no repository, and its last release (May 2024)
    # is older than two years: nothing says active, so unknown, never active.
    assert answers["requests"]["maintenance"]["verdict"] == "unknown"
    assert "GITHUB_TOKEN is not set" in run.stderr
    assert SECRET not in run.stderr


def test_a_forge_retry_after_http_cannot_read_is_retried_without_a_traceback(
    cli: Callable[..., Run], forge: FakeForge
) -> None:
    # GitHub answering 429 with "Retry-After: ²" (a digit to str.isdigit(), not to float()):
    # the repository was unknown, "internal error (see the log)", a traceback at ERROR.
    nose = FakeRepo(pushed_at="2016-02-01T00:00:00Z", committed_at="2016-01-31T00:00:00Z")
    with FakeForge(github={"nose-devs/nose": nose}) as github:  # the project API stays apart
        github.too_many = 1
        github.retry_after = "\u00b2"
        env = forge_env(forge, SBOM_ENRICH_GITHUB_API_URL=f"{github.url}/github")
        run = cli("status", "nose", "--maintenance", "--json", env=env)
    assert run.code == 0, run.stderr
    assert "Traceback" not in run.stderr and "ERROR" not in run.stderr, run.stderr
    (answer,) = json.loads(run.stdout)
    assert answer["maintenance"]["verdict"] == "stale", answer
    assert github.count("/github/graphql") == 2  # the 429, then its answer


def test_a_project_api_answer_nested_past_the_recursion_limit_costs_its_verdict(
    cli: Callable[..., Run], forge: FakeForge
) -> None:
    # 400 kB of "[[[[": json.loads raised RecursionError past the ValueError caught, exit 5.
    forge.raw["/pypi/nose/json"] = (200, b"[" * 200_000 + b"]" * 200_000)
    forge.projects["pycrypto"] = {"info": {"home_page": "https://github.com/pycrypto/pycrypto"}}
    run = cli("status", "nose", "pycrypto", "--maintenance", "--json", env=forge_env(forge))
    assert run.code == 0, run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, run.stderr
    answers = {a["name"]: a for a in json.loads(run.stdout)}
    assert answers["nose"]["status"] == "deprecated"  # the index's answer stands
    assert answers["nose"]["maintenance"]["verdict"] == "unknown"
    assert answers["pycrypto"]["maintenance"]["verdict"] == "repository-archived"


def test_answers_are_cached_and_cache_clear_removes_them(
    cli: Callable[..., Run], forge: FakeForge
) -> None:
    assert cli("enrich", "-", "--maintenance", stdin=sbom(), env=forge_env(forge)).code == 0
    asked = len(forge.seen)
    assert cli("enrich", "-", "--maintenance", stdin=sbom(), env=forge_env(forge)).code == 0
    # The index's answers, the project metadata and the repositories all came from the
    # cache, except what was not there: pycrypto has no project metadata (404, not cached).
    assert [s.path for s in forge.seen[asked:]] == ["/pypi/pycrypto/json"]
    info = cli("cache", "info").stdout.decode()
    # psf/requests, pycrypto/pycrypto, nose-devs/nose and nose's project metadata.
    assert re.search(r"repositories: .*repositories \(4 entries\)", info), info
    cleared = cli("cache", "clear")
    assert "repository entries" in cleared.stdout.decode()
    before = len(forge.seen)
    assert cli("enrich", "-", "--maintenance", stdin=sbom(), env=forge_env(forge)).code == 0
    assert forge.count("/github/graphql") == 2 and len(forge.seen) > before


def test_sarif_and_markdown_reports_carry_the_maintenance_findings(
    cli: Callable[..., Run], forge: FakeForge, tmp_path: Path
) -> None:
    import jsonschema

    sarif, markdown = tmp_path / "out.sarif", tmp_path / "out.md"
    run = cli(
        "enrich", "-", "-o", str(tmp_path / "out.cdx.json"), "--maintenance",
        "--fail-on", "repo-archived", "--report", str(sarif), "--report", str(markdown),
        stdin=sbom(), env=forge_env(forge),
    )  # fmt: skip
    assert run.code == 1, run.stderr
    log = json.loads(sarif.read_text())
    schema_path = Path(__file__).resolve().parent.parent / "data" / "sarif"
    schema = json.loads((schema_path / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    assert not list(jsonschema.Draft7Validator(schema).iter_errors(log))
    [sarif_run] = log["runs"]
    results = {(r["ruleId"], r["properties"]["project"]): r for r in sarif_run["results"]}
    archived = results[("sbom-enrich/repo-archived", "pycrypto")]
    assert archived["level"] == "error"  # in --fail-on
    assert archived["properties"]["maintenance"] == "repository-archived"
    assert results[("sbom-enrich/stale", "nose")]["level"] == "note"
    rules = [rule["id"] for rule in sarif_run["tool"]["driver"]["rules"]]
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in sarif_run["results"])
    text = markdown.read_text()
    assert "recommended by its maintainers: requests" in text
    assert "maintenance: repository-archived" in text and "maintenance: stale" in text


def test_offline_answers_from_the_cache_and_asks_nothing(
    cli: Callable[..., Run], forge: FakeForge
) -> None:
    cli("enrich", "-", "--maintenance", "--offline", stdin=sbom(), env=forge_env(forge))
    assert forge.seen == []  # an empty cache: nothing known, and still nothing asked
    assert cli("enrich", "-", "--maintenance", stdin=sbom(), env=forge_env(forge)).code == 0
    asked = len(forge.seen)
    run = cli("enrich", "-", "--maintenance", "--offline", stdin=sbom(), env=forge_env(forge))
    assert len(forge.seen) == asked  # nothing asked offline
    nose = next(c for c in json.loads(run.stdout)["components"] if c["name"] == "nose")
    assert {"name": "sbom-enrich:maintenance", "value": "stale"} in nose["properties"]


def test_a_repository_on_an_unconfigured_host_is_unknown_with_the_reason(
    cli: Callable[..., Run], forge: FakeForge, tmp_path: Path
) -> None:
    document = json.loads(sbom())
    document["components"][1]["externalReferences"] = [
        {"type": "vcs", "url": "https://git.example.com/crypto/pycrypto"}
    ]
    summary = tmp_path / "summary.json"
    run = cli(
        "enrich", "-", "--maintenance", "--summary-json", str(summary),
        stdin=json.dumps(document).encode(), env=forge_env(forge),
    )  # fmt: skip
    assert run.code == 0, run.stderr
    report = {c["name"]: c for c in json.loads(summary.read_text())["components"]}
    maintenance = report["pycrypto"]["maintenance"]
    assert maintenance["verdict"] == "unknown"
    assert any(
        "git.example.com is not a configured forge" in line for line in maintenance["evidence"]
    ), maintenance
    # Never guessed to be a GitLab or a Gitea: nothing was asked about it.
    assert not any("pycrypto" in seen.path and "json" not in seen.path for seen in forge.seen)


def test_two_forge_apis_on_one_host_are_a_usage_error(
    cli: Callable[..., Run], forge: FakeForge
) -> None:
    run = cli(
        "enrich", "-", "--maintenance",
        "--gitlab-api-url", "https://git.example.org/api/v4",
        "--gitea-api-url", "https://git.example.org/api/v1",
        stdin=sbom(), env=forge_env(forge),
    )  # fmt: skip
    assert run.code == 2
    assert "both name git.example.org" in run.stderr
    assert "Traceback" not in run.stderr and forge.seen == []


def test_a_project_on_another_index_is_not_judged_by_its_namesake(
    cli: Callable[..., Run], forge: FakeForge, make_index_server: MakeIndexServer
) -> None:
    """As the service: a private "nose" is not judged by the public nose's repository, and
    its name goes to no public API; the public nose beside it is judged."""
    private = make_index_server(
        [ProjectSpec("nose", status="archived", files=release("nose", "2"))]
    )
    document = json.loads(sbom())
    document["components"].append(
        {"type": "library", "name": "nose", "version": "2",
         "purl": f"pkg:pypi/nose@2?repository_url={private.url}"}
    )  # fmt: skip
    run = cli(
        "enrich", "-", "--maintenance", "--fail-on", "stale", "--allow-index", private.url,
        stdin=json.dumps(document).encode(), env=forge_env(forge),
    )  # fmt: skip
    assert run.code == 1, run.stderr
    by_version = {c["version"]: props(c) for c in json.loads(run.stdout)["components"]}
    assert by_version["2"]["sbom-enrich:pypi:project-status"] == ["archived"]
    assert by_version["2"]["sbom-enrich:maintenance"] == ["unknown"]
    assert "sbom-enrich:repo:url" not in by_version["2"]
    assert by_version["1.3.7"]["sbom-enrich:maintenance"] == ["stale"]
    assert forge.count("/pypi/nose/json") == 1


def test_check_judges_each_of_two_namesakes_on_its_own_index(
    check: Callable[..., Run],
    forge: FakeForge,
    project: Path,
    index_server: IndexServer,
    make_index_server: MakeIndexServer,
) -> None:
    """A lock with `nose` from the configured index and a private `nose`: the survey judged
    the public one, and `check` gave its verdict (stale, its repository) to both."""
    private = make_index_server(
        [ProjectSpec("nose", status="archived", files=release("nose", "2"))]
    )
    entry = '[[package]]\nname = "nose"\nversion = "{}"\nsource = {{ registry = "{}" }}\n\n'
    (project / "uv.lock").write_text(
        "version = 1\n\n" + entry.format("1.3.7", index_server.url) + entry.format("2", private.url)
    )
    run = check(
        "uv.lock", "--maintenance", "--fail-on", "none", "--allow-index", private.url,
        "--report", "-", "--report-format", "json", env=forge_env(forge),
    )  # fmt: skip
    assert run.code == 0, run.stderr
    findings = json.loads(run.stdout)["components"]
    by_version = {f["version"]: f for f in findings if f["name"] == "nose"}
    assert by_version["1.3.7"]["maintenance"]["verdict"] == "stale", by_version
    assert by_version["2"]["maintenance"]["verdict"] == "unknown", by_version
    assert forge.count("/pypi/nose/json") == 1


def test_a_name_asked_on_the_configured_index_only_as_a_namesake_is_not_surveyed(
    check: Callable[..., Run], forge: FakeForge, project: Path, make_index_server: MakeIndexServer
) -> None:
    """A private `nose` from an index only the lock names: its name is asked on the
    configured index (for a quarantine there), but no verdict is taken from the public nose,
    so no project API or forge is asked about it."""
    private = make_index_server([ProjectSpec("nose", status="active", files=release("nose", "2"))])
    (project / "uv.lock").write_text(
        f'version = 1\n\n[[package]]\nname = "nose"\nversion = "2"\n'
        f'source = {{ registry = "{private.url}" }}\n'
    )
    run = check("uv.lock", "--maintenance", "--fail-on", "none", env=forge_env(forge))
    assert run.code == 0, run.stderr
    assert forge.seen == []  # neither the project API nor a forge


def test_check_gives_no_verdict_to_a_name_installed_from_a_url(
    check: Callable[..., Run], forge: FakeForge, project: Path
) -> None:
    """`nose @ https://…` is asked by name (off-index), but the repository the survey finds
    is the index's nose's: `check` attached its verdict; `enrich` leaves it out."""
    (project / "requirements.txt").write_text(
        "nose @ https://files.example/nose-1.3.7.tar.gz\nrequests==2.32.3\n"
    )
    run = check(
        "requirements.txt", "--maintenance", "--fail-on", "stale",
        "--report", "-", "--report-format", "json", env=forge_env(forge),
    )  # fmt: skip
    by_name = {c["name"]: c for c in json.loads(run.stdout)["components"]}
    assert by_name["nose"]["off_index"] == "url"
    assert by_name["nose"]["maintenance"] is None, by_name["nose"]
    assert run.code == 0, run.stderr
    # Nor was anyone asked about it: its name could be a private package's, its repository
    # the public namesake's (as enrich and the editor leave it out).
    assert not [seen.path for seen in forge.seen if "nose" in seen.path]
    assert [seen.path for seen in forge.seen if "requests" in seen.path]


#: requests's last release (May 2024) counts as recent: only the repository can say otherwise.
RECENT = ("--stale-release-years", "100")


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ((500, b"oops"), "project API: HTTP 500"),
        ((503, b""), "project API: HTTP 503"),
        ((200, b"<html>maintenance</html>"), "project API: not JSON"),
        ((200, b'{"info": "none"}'), "project API: no 'info' object"),
        ((200, b'{"info": {"project_urls": "x"}}'), "project API: malformed"),
        (None, "project API: HTTP 404"),  # the API does not know a project the index has
    ],
    ids=["500", "503", "not-json", "no-info", "malformed-urls", "404"],
)
def test_a_failed_project_api_is_unknown_never_active(
    check: Callable[..., Run],
    project: Path,
    raw: tuple[int, bytes] | None,
    error: str,
) -> None:
    """The API's failure was dropped: "no repository found", and with a recent release the
    verdict was active. It is unknown, naming the failure, and the run treats it as it
    treats a failed forge lookup (shown, never a violation; not incomplete)."""
    (project / "requirements.txt").write_text("requests==2.32.3\n")
    with FakeForge() as forge:
        if raw is not None:
            forge.raw["/pypi/requests/json"] = raw
        run = check(
            "requirements.txt", "--maintenance", "--fail-on", "stale", *RECENT,
            "--report", "-", "--report-format", "json", env=forge_env(forge),
        )  # fmt: skip
    assert run.code == 0, run.stderr
    [component] = json.loads(run.stdout)["components"]
    maintenance = component["maintenance"]
    assert maintenance["verdict"] == "unknown", maintenance
    assert any(error in line for line in maintenance["evidence"]), maintenance
    assert "Traceback" not in run.stderr


def test_a_project_api_that_cannot_be_reached_is_unknown(
    check: Callable[..., Run], project: Path
) -> None:
    import socket

    (project / "requirements.txt").write_text("requests==2.32.3\n")
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        api = f"http://127.0.0.1:{closed.getsockname()[1]}/pypi"
        run = check(
            "requirements.txt", "--maintenance", *RECENT, "--report", "-",
            "--report-format", "json", env={"SBOM_ENRICH_PROJECT_API_URL": api},
        )  # fmt: skip
    assert run.code == 0, run.stderr
    [component] = json.loads(run.stdout)["components"]
    assert component["maintenance"]["verdict"] == "unknown", component["maintenance"]
    assert "project API: ConnectError" in " ".join(component["maintenance"]["evidence"])


def test_a_project_that_lists_no_repository_is_judged_by_its_release(
    check: Callable[..., Run], project: Path
) -> None:
    # An answer, unlike a failure: PyPI's nulls for a project that names no URL.
    (project / "requirements.txt").write_text("requests==2.32.3\n")
    bare = {"requests": {"info": {"project_urls": None, "home_page": None}}}
    with FakeForge(projects=bare) as forge:
        run = check(
            "requirements.txt", "--maintenance", *RECENT, "--report", "-",
            "--report-format", "json", env=forge_env(forge),
        )  # fmt: skip
    assert run.code == 0, run.stderr
    [component] = json.loads(run.stdout)["components"]
    assert component["maintenance"]["verdict"] == "active"
    assert component["maintenance"]["evidence"][-1] == "no repository found"


def test_a_failed_project_api_is_treated_as_a_failed_forge_lookup(
    check: Callable[..., Run], project: Path
) -> None:
    """The rule a failed forge lookup sets under --fail-on stale: unknown with the failure in
    its evidence, no violation, and the same exit code (a failed survey is not incomplete)."""
    (project / "requirements.txt").write_text("requests==2.32.3\n")
    source = {"requests": {"info": {"project_urls": {"Source": "https://github.com/psf/requests"}}}}
    runs = []
    with FakeForge(github={"psf/requests": FakeRepo()}, projects=source) as forge:
        forge.raw["/github/graphql"] = (500, b"oops")
        forge.raw["/github/repos/psf/requests"] = (500, b"oops")
        for failing in ("forge", "project API"):
            if failing == "project API":
                forge.raw["/pypi/requests/json"] = (500, b"oops")
            runs.append(
                check(
                    "requirements.txt",
                    "--maintenance",
                    "--fail-on",
                    "stale",
                    *RECENT,
                    "--report",
                    "-",
                    "--report-format",
                    "json",
                    env=forge_env(forge, SBOM_ENRICH_CACHE_DIR=str(project / failing)),
                )  # fmt: skip
            )
    verdicts = [json.loads(run.stdout)["components"][0]["maintenance"] for run in runs]
    assert [v["verdict"] for v in verdicts] == ["unknown", "unknown"], verdicts
    assert "repository lookup failed: HTTP 500" in verdicts[0]["evidence"][-1]
    assert "project API: HTTP 500" in verdicts[1]["evidence"][-1]
    assert [run.code for run in runs] == [0, 0], [run.stderr for run in runs]


def test_enrich_and_status_show_a_failed_project_api_as_unknown(
    cli: Callable[..., Run], forge: FakeForge
) -> None:
    forge.raw["/pypi/requests/json"] = (502, b"bad gateway")
    document = json.loads(sbom())
    del document["components"][0]["externalReferences"]  # requests: found through the API
    run = cli(
        "enrich", "-", "--maintenance", *RECENT,
        stdin=json.dumps(document).encode(), env=forge_env(forge),
    )  # fmt: skip
    assert run.code == 0, run.stderr
    requests = next(c for c in json.loads(run.stdout)["components"] if c["name"] == "requests")
    assert props(requests)["sbom-enrich:maintenance"] == ["unknown"]
    status = cli("status", "requests", "--maintenance", *RECENT, env=forge_env(forge))
    assert status.code == 0, status.stderr
    line = status.stdout.decode()
    assert "maintenance: unknown" in line and "project API: HTTP 502" in line, line


def from_git(name: str, version: str, repository: str) -> dict[str, object]:
    """A component installed from git: asked by name on the index, a namesake's status."""
    return {
        "type": "library",
        "name": name,
        "version": version,
        "purl": f"pkg:pypi/{name}@{version}?vcs_url=git%2B{repository}",
        "externalReferences": [{"type": "vcs", "url": repository}],
    }


def test_enrich_asks_nothing_and_shows_no_verdict_for_a_name_installed_from_git(
    cli: Callable[..., Run], forge: FakeForge, tmp_path: Path
) -> None:
    """As `check`: the repository the survey finds for `nose` is the index's nose's, maybe
    another project than the private one installed from git. Nothing is asked about it."""
    document = json.loads(sbom())
    document["components"] = [from_git("nose", "9.0", "https://github.com/corp/nose")]
    summary = tmp_path / "summary.json"
    run = cli(
        "enrich", "-", "--maintenance", "--summary-json", str(summary), "--allow-incomplete",
        stdin=json.dumps(document).encode(), env=forge_env(forge),
    )  # fmt: skip
    assert run.code == 0, run.stderr  # incomplete (nothing from an index) but allowed
    [component] = json.loads(run.stdout)["components"]
    assert not [p for p in props(component) if p.startswith(("sbom-enrich:repo", "sbom-enrich:m"))]
    [finding] = json.loads(summary.read_text())["components"]
    assert finding["off_index"] == "git" and finding["maintenance"] is None, finding
    assert "maintenance:" not in run.stderr, run.stderr
    assert forge.seen == [], [seen.path for seen in forge.seen]


def test_enrich_judges_the_index_namesake_by_its_own_urls_not_the_git_ones(
    cli: Callable[..., Run], forge: FakeForge, tmp_path: Path
) -> None:
    """A git `nose` listed first gave the question for the index's `nose` its repository
    (corp/nose: asked at the forge, "repository-gone"), and its verdict went to both."""
    document = json.loads(sbom())
    document["components"].insert(0, from_git("nose", "9.0", "https://github.com/corp/nose"))
    summary = tmp_path / "summary.json"
    run = cli(
        "enrich", "-", "--maintenance", "--summary-json", str(summary),
        stdin=json.dumps(document).encode(), env=forge_env(forge),
    )  # fmt: skip
    assert run.code == 0, run.stderr
    by_version = {c["version"]: props(c) for c in json.loads(run.stdout)["components"]}
    assert by_version["1.3.7"]["sbom-enrich:maintenance"] == ["stale"]
    assert by_version["1.3.7"]["sbom-enrich:repo:url"] == ["https://github.com/nose-devs/nose"]
    assert "sbom-enrich:maintenance" not in by_version["9.0"]
    findings = {c["version"]: c for c in json.loads(summary.read_text())["components"]}
    assert findings["9.0"]["maintenance"] is None
    assert findings["1.3.7"]["maintenance"]["verdict"] == "stale"
    assert not any("corp" in seen.path for seen in forge.seen), forge.seen
