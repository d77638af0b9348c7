"""Benchmark `sbom-enrich enrich` end to end: cold, warm and revalidating runs, local index.

Run: .venv/bin/python bench/bench_enrich.py [--components 1000] [--large 10000] [--latency 0.05]
         [--sbom-enrich PATH]

`--sbom-enrich` picks the executable to time (default: the dev venv's). The dev venv is an
editable install with the test extras: its modules are compiled on every start when
PYTHONDONTWRITEBYTECODE is set, and httpx imports rich (pulled in by schemathesis), ~70 ms of
start-up a user's `pip install .` does not pay. To time what users run:

    python3 -m venv .bench/user && .bench/user/bin/pip install -q .
    .venv/bin/python bench/bench_enrich.py --sbom-enrich .bench/user/bin/sbom-enrich

Each phase starts the project's test index (tests/indexserver.py) in its own process with
synthetic projects and injected latency, runs the real CLI as a subprocess (so process start,
imports and cache opening count), and prints wall time, peak RSS, and the requests and bytes
the index served.

The large phases use a cyclonedx-py-like SBOM (make_realistic_sboms: the components of a real
cyclonedx-py run repeated under 10,000 names, with hashes, licenses, references, properties
and a dependencies graph, written by cyclonedx-python-lib as JSON and XML; ~14 MB each). They
time the enricher's document work (read, edit every PyPI component, write by splicing) next to
re-rendering the same file, and end with issue 18's two ratios: a whole warm, offline
`sbom-enrich enrich` process against a process doing `json.load` + `json.dump(indent=2)` (JSON)
or lxml parse + serialise (XML) of the same input, CPU time, the two alternating in pairs: the
ratio is the median of the pairs' ratios (the best times are printed too).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from indexserver import synthetic_projects  # noqa: E402
from listening import reserve_port  # noqa: E402

#: The executable the benches time unless `--sbom-enrich` names another: the one installed beside
#: the Python running the bench (the dev venv under scripts/test, whatever venv otherwise).
DEV_EXECUTABLE = Path(sys.executable).parent / "sbom-enrich"


def make_sbom(count: int, path: Path) -> None:
    """A CycloneDX 1.6 JSON SBOM with ``count`` distinct PyPI components (the synthetic set)."""
    components = []
    for spec in synthetic_projects(count):
        versions = spec.versions or sorted({f.filename.split("-")[1] for f in spec.files}) or ["1"]
        version = versions[0]
        components.append(
            {
                "type": "library",
                "bom-ref": f"{spec.name}=={version}",
                "name": spec.name,
                "version": version,
                "purl": f"pkg:pypi/{spec.name}@{version}",
            }
        )
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {"component": {"type": "application", "name": "bench", "bom-ref": "root"}},
        "components": components,
    }
    path.write_text(json.dumps(document, indent=2))


#: The real cyclonedx-py 7.5 `environment` output whose components the realistic SBOM repeats.
TEMPLATE = ROOT / "tests" / "data" / "sboms" / "cyclonedx-py-environment-1.6.json"
#: Where realistic SBOMs are kept between runs (cyclonedx-python-lib takes minutes to write 10k).
DATA_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sbom-enrich-bench"
REALISTIC_VERSION = 1  # bump when make_realistic_sboms changes what it writes


def make_realistic_sboms(count: int) -> tuple[Path, Path]:
    """A cyclonedx-py-like SBOM of ``count`` PyPI components, as JSON and XML (spec 1.6).

    Each component copies one of the 51 of a real cyclonedx-py `environment` run (description,
    licenses, five or so externalReferences, a property on some) under a synthetic project's
    name (so the test index knows it), with a SHA-256 hash; every component is in the
    dependencies graph. Both files are written by cyclonedx-python-lib itself, the library
    cyclonedx-py writes with (on Python <= 3.12 its XML escapes quotes in text as ``&quot;``).
    Kept in DATA_CACHE: the library takes minutes for 10,000 components.
    """
    directory = DATA_CACHE / f"realistic-v{REALISTIC_VERSION}-{count}"
    json_path, xml_path = directory / "sbom.json", directory / "sbom.xml"
    if json_path.exists() and xml_path.exists():
        return json_path, xml_path
    import hashlib

    from cyclonedx.model.bom import Bom
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion

    real = json.loads(TEMPLATE.read_text())
    templates = real["components"]
    components, refs = [], []
    for index, spec in enumerate(synthetic_projects(count)):
        versions = spec.versions or sorted({f.filename.split("-")[1] for f in spec.files}) or ["1"]
        version = versions[0]
        reference = f"{spec.name}=={version}"
        refs.append(reference)
        component = dict(templates[index % len(templates)])
        component.update(
            {
                "bom-ref": reference,
                "name": spec.name,
                "version": version,
                "purl": f"pkg:pypi/{spec.name}@{version}",
                "hashes": [
                    {"alg": "SHA-256", "content": hashlib.sha256(spec.name.encode()).hexdigest()}
                ],
            }
        )
        components.append(component)
    dependencies = [
        {"ref": ref, "dependsOn": sorted({refs[(i * 7 + 1) % count], refs[(i * 13 + 5) % count]})}
        if i % 3
        else {"ref": ref}
        for i, ref in enumerate(refs)
    ]
    subject = real["metadata"].get("component")
    if subject is not None:
        dependencies.append({"ref": subject["bom-ref"], "dependsOn": sorted(refs[:50])})
    document = {**real, "components": components, "dependencies": dependencies}
    bom = Bom.from_json(document)  # type: ignore[attr-defined]
    directory.mkdir(parents=True, exist_ok=True)
    for path, kind in ((json_path, OutputFormat.JSON), (xml_path, OutputFormat.XML)):
        text = make_outputter(bom, kind, SchemaVersion.V1_6).output_as_string(indent=2)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(text + "\n")
        partial.replace(path)
    return json_path, xml_path


def best_of(
    function: Callable[[], object], repeat: int = 5, clock: Callable[[], float] = time.perf_counter
) -> float:
    times = []
    for _ in range(repeat):
        started = clock()
        function()
        times.append(clock() - started)
    return min(times)


#: In-process phases count this process's CPU time: on a shared 2-core machine wall time
#: swings with the neighbours' load, CPU time much less (both sides are single-threaded).
CPU = time.process_time


def document_phase(path: Path, work: Path) -> None:
    """In-process: the enricher's document work against re-rendering the same file."""
    sys.path.insert(0, str(ROOT / "tests" / "enrich"))
    from enrich_support import fake_properties  # type: ignore[import-not-found]

    from sbom_enrich.enrich import load_sbom

    data = path.read_bytes()
    planned = {
        c.name: fake_properties(c.name, c.version) for c in load_sbom(data).pypi_components()
    }

    def enrich() -> bytes:
        sbom = load_sbom(data)
        for component in sbom.pypi_components():
            sbom.set_properties(component, planned[component.name])
        sbom.add_tool("sbom-enrich", "0.0.0", "https://example.com/")
        sbom.bump_version()
        return sbom.to_bytes()

    output = enrich()
    (work / f"enriched{path.suffix}").write_bytes(output)
    ours = best_of(enrich, clock=CPU)
    read_only = best_of(lambda: load_sbom(data), clock=CPU)
    if path.suffix == ".json":

        def rerender(raw: bytes) -> Callable[[], object]:
            return lambda: json.dumps(json.loads(raw), indent=2)

        peer = "json.load + json.dump(indent=2)"
    else:
        from lxml import etree

        def rerender(raw: bytes) -> Callable[[], object]:
            return lambda: etree.tostring(
                etree.fromstring(raw).getroottree(), xml_declaration=True, encoding="UTF-8"
            )

        peer = "lxml parse + serialise"
    on_input = best_of(rerender(data), clock=CPU)
    on_output = best_of(rerender(output), clock=CPU)
    print(
        f"{path.suffix[1:]:<4} {len(data) / 1e6:5.1f} MB -> {len(output) / 1e6:5.1f} MB  "
        f"enrich document work {ours:6.3f} s (of which reading {read_only:6.3f} s)  "
        f"{peer}: input {on_input:6.3f} s, output {on_output:6.3f} s"
    )


#: Pairs of whole processes (ours, then the re-rendering one) the process phase runs: with
#: five, one run's pairs spread 1.46-1.99x at load 1 and the median moved ~5% between runs;
#: eleven cost ~10 s more and steady the median.
PROCESS_PAIRS = 11


def process_phase(path: Path, executable: Path, work: Path, cache: Path, url: str) -> float:
    """Whole processes: a warm, offline `sbom-enrich enrich` against a re-rendering one-liner.

    The two alternate, one pair after another, so both see the same minutes of a shared
    machine; prints the best CPU time of each and the pairs' ratios. Returns the issue's ratio:
    the median of the per-pair ratios (the enrich process's CPU over the re-rendering
    process's, both on the same input).
    """
    if path.suffix == ".json":
        script = (
            "import json,sys; "
            "json.dump(json.load(open(sys.argv[1])), open(sys.argv[2], 'w'), indent=2)"
        )
    else:
        script = (
            "import sys; from lxml import etree; "
            "open(sys.argv[2], 'wb').write(etree.tostring(etree.parse(sys.argv[1]), "
            "xml_declaration=True, encoding='UTF-8'))"
        )
    out = work / f"peer{path.suffix}"
    command = [sys.executable, "-c", script, str(path), str(out)]
    enriched = work / f"cli{path.suffix}"
    as_installed(executable, dict(os.environ))  # compiled, as an installed copy is
    run_cli(path, enriched, url, cache, executable)  # fills the cache: the runs below are warm
    ours: list[float] = []
    peers: list[float] = []
    for _ in range(PROCESS_PAIRS):
        ours.append(
            child_cpu(lambda: run_cli(path, enriched, url, cache, executable, offline=True))
        )
        peers.append(child_cpu(lambda: subprocess.run(command, check=True)))
    ratios = sorted(mine / peer for mine, peer in zip(ours, peers, strict=True))
    median = statistics.median(ratios)
    print(
        f"{path.suffix[1:]:<4} whole `enrich` process, warm cache, offline: "
        f"best {min(ours):6.3f} s CPU; re-render process on the same input: "
        f"best {min(peers):6.3f} s CPU; "
        f"{PROCESS_PAIRS} pairs, ratios {ratios[0]:.2f}-{ratios[-1]:.2f}x, median {median:.2f}x "
        f"(best/best {min(ours) / min(peers):.2f}x)"
    )
    return median


def child_cpu(function: Callable[[], object]) -> float:
    """CPU seconds (user + system) of the child processes ``function`` ran and waited for."""
    before = children_cpu()
    function()
    return children_cpu() - before


def load_average() -> str:
    """The machine's 1-minute load average (2 cores here, shared): context for the numbers."""
    return f"{os.getloadavg()[0]:.1f}"


def children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Index:
    """The test index in its own process (so it does not share the client's interpreter)."""

    def __init__(
        self,
        count: int,
        latency: float,
        max_age: int,
        stats: Path,
        port: int,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.stats_file = stats
        command = [
            sys.executable,
            str(ROOT / "tests" / "indexserver.py"),
            "--port",
            str(port),
            "--synthetic",
            str(count),
            "--latency",
            str(latency),
            "--max-age",
            str(max_age),
            "--stats-file",
            str(stats),
            *extra_args,
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def stop(self) -> dict[str, object]:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        data: dict[str, object] = json.loads(self.stats_file.read_text())
        return data


def run_cli(
    sbom: Path,
    out: Path,
    url: str,
    cache: Path,
    executable: Path = DEV_EXECUTABLE,
    offline: bool = False,
) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, exit code) of one CLI process."""
    command = [
        str(executable),
        "enrich",
        str(sbom),
        "-o",
        str(out),
        "--index-url",
        url,
        "--cache-dir",
        str(cache),
        "--fail-on",
        "none",
        *(["--offline"] if offline else []),
    ]
    env = {**os.environ, "SBOM_ENRICH_ALTERNATIVES": ""}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(command, stderr=subprocess.DEVNULL, env=env, check=False)
    elapsed = time.perf_counter() - started
    # ru_maxrss of children is the largest child so far; runs grow in size, so this is ours.
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return elapsed, peak, done.returncode


def add_executable_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sbom-enrich",
        type=Path,
        default=DEV_EXECUTABLE,
        help="the sbom-enrich executable to time (default: the dev venv's)",
    )


def chosen_executable(args: argparse.Namespace) -> Path:
    executable: Path = args.sbom_enrich.absolute()
    if not executable.exists():
        raise SystemExit(f"no sbom-enrich at {executable}; see this script's docstring")
    print(f"# timing {executable}")
    return executable


def as_installed(executable: Path, env: dict[str, str]) -> dict[str, str]:
    """``env`` for timing ``executable`` as an installed copy runs: with bytecode.

    ``pip install`` compiles a package's modules; an editable dev install under
    PYTHONDONTWRITEBYTECODE (set in this project's CI and sandboxes) compiles all ~70 of ours
    from source on every start (~0.1 s of CPU a run, all of it counted against us). The
    package ``executable`` imports is compiled once here, and the variable dropped.
    """
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    interpreter = executable.read_text(errors="replace").splitlines()[0].removeprefix("#!").strip()
    if Path(interpreter).exists():
        code = (
            "import compileall, os, sbom_enrich\n"
            "compileall.compile_dir(os.path.dirname(sbom_enrich.__file__), quiet=1)\n"
        )
        subprocess.run([interpreter, "-c", code], env=env, check=False, capture_output=True)
    return env


#: One port for every phase (the cache is keyed by index URL, port included), held for the
#: whole run (listening.reserve_port) so nothing else takes it between phases: each phase's
#: index listens on it beside the reservation (it sets SO_REUSEPORT when given a port).
_PORT_HELD = reserve_port()
PORT = int(_PORT_HELD.getsockname()[1])


def phase(
    name: str,
    sbom: Path,
    count: int,
    latency: float,
    max_age: int,
    cache: Path,
    work: Path,
    executable: Path,
) -> None:
    index = Index(count, latency, max_age, work / f"{name}.stats.json", PORT)
    try:
        seconds, rss, code = run_cli(sbom, work / f"{name}.out.json", index.url, cache, executable)
    finally:
        stats = index.stop()
    print(
        f"{name:<34} {seconds:7.3f} s  peak RSS {rss:6.1f} MB  exit {code}  "
        f"requests {stats['requests']:>6}  full pages {stats['full_responses']:>6}  "
        f"304 {stats['not_modified']:>6}  bytes {stats['bytes_sent']:>10}"
    )


def small_runs(args: argparse.Namespace, work: Path, executable: Path) -> None:
    sbom = work / "sbom.json"
    make_sbom(args.components, sbom)
    n = args.components
    print(f"# {n} distinct PyPI components, index latency {args.latency * 1000:.0f} ms")
    for attempt in range(args.repeat):
        cache = work / f"cache-{attempt}"
        phase(f"cold (run {attempt + 1})", sbom, n, args.latency, 600, cache, work, executable)
    phase("warm (fresh cache)", sbom, n, args.latency, 600, work / "cache-0", work, executable)
    phase("warm again", sbom, n, args.latency, 600, work / "cache-0", work, executable)
    stale = work / "cache-stale"
    phase("cold, max-age 0", sbom, n, args.latency, 0, stale, work, executable)
    phase("revalidation (after max-age)", sbom, n, args.latency, 0, stale, work, executable)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10000, help="0 to skip the large run")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3, help="cold runs to take the best of")
    parser.add_argument(
        "--documents-only",
        action="store_true",
        help="only the document and whole-process comparisons on --large components",
    )
    add_executable_option(parser)
    args = parser.parse_args()
    executable = chosen_executable(args)
    work = Path(tempfile.mkdtemp(prefix="sbom-enrich-bench-"))
    try:
        if not args.documents_only:
            small_runs(args, work, executable)
        if args.large:
            big = work / "big.json"
            make_sbom(args.large, big)
            if not args.documents_only:
                print(f"# {args.large} distinct PyPI components")
                cache = work / "cache-big"
                for name in ("cold", "warm", "warm again"):
                    phase(name, big, args.large, args.latency, 600, cache, work, executable)
            realistic = make_realistic_sboms(args.large)
            print(
                f"# document work, {args.large} components in a cyclonedx-py-like SBOM "
                "(CPU seconds, best of 5)"
            )
            for path in realistic:
                document_phase(path, work)
            print(
                f"# whole processes, {args.large} components (CPU; {PROCESS_PAIRS} pairs, "
                "ours then the re-rendering one)"
            )
            index = Index(args.large, 0, 600, work / "doc.stats.json", PORT)
            try:
                ratios = [
                    process_phase(path, executable, work, work / "cache-doc", index.url)
                    for path in realistic
                ]
            finally:
                index.stop()
            print(f"# issue 18's goals, {args.large} components, load average {load_average()}")
            print(
                f"JSON: whole enrich / (json.load + json.dump) = {ratios[0]:.2f}x "
                "(median of pairs; goal 1.2x)"
            )
            print(
                f"XML: whole enrich / (lxml parse + serialise) = {ratios[1]:.2f}x "
                "(median of pairs; goal 1.5x)"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
