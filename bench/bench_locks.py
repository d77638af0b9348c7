"""A 2,000-package uv.lock: parse time, and the whole `check` process cold and warm, vs uv audit.

    .venv/bin/python bench/bench_locks.py [--packages 2000] [--repeat 5]

The lock is synthetic, in uv.lock's format as uv 0.13 writes it (a virtual root depending on
the first 200 packages; below them a tree of up to three dependencies each, so every package
is reachable and has a chain), over the same synthetic index the other benches use
(tests/indexserver.py --synthetic N, in its own process, on 127.0.0.1). With --uv-lock, a
second lock is made by the real `uv lock` (the test extra's uv) against that index, which
serves PEP 658 metadata; quarantined projects serve no files, so uv locks the others (a flat
lock: the stand-in metadata declares no dependencies).

Timed, best of --repeat (and the median): parse_lock_text + every chain, in-process; the
whole `sbom-enrich check uv.lock` process with a warm cache (after one cold run fills it);
and `uv audit --frozen` on the same lock, as the peer, with an OSV stub answering at once.
No wall-clock assertion anywhere: this prints numbers.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_enrich import DEV_EXECUTABLE, Index, as_installed  # noqa: E402
from bench_vs_uv import NO_INTERNET, OsvStub, uv_env  # noqa: E402
from indexserver import canonical, synthetic_projects  # noqa: E402
from sbom_enrich.findings.graph import chains_to  # noqa: E402
from sbom_enrich.manifests import parse_lock_text  # noqa: E402

ROOT_NAME = "bench-locks"
DIRECT = 200


def pairs(count: int) -> list[tuple[str, str]]:
    """(canonical name, version) of the synthetic projects, each at its first version."""
    found = []
    for spec in synthetic_projects(count):
        versions = spec.versions or sorted({f.filename.split("-")[1] for f in spec.files}) or ["1"]
        found.append((canonical(spec.name), versions[0]))
    return found


def synthetic_uv_lock(packages: list[tuple[str, str]], registry: str) -> str:
    """A uv.lock (version 1, revision 3) with a virtual root and edges, as uv writes them."""
    lines = ["version = 1", "revision = 3", 'requires-python = ">=3.10"', ""]
    lines += ["[[package]]", f'name = "{ROOT_NAME}"', 'version = "0.1.0"',
              'source = { virtual = "." }', "dependencies = ["]  # fmt: skip
    lines += [f'    {{ name = "{name}" }},' for name, _ in packages[:DIRECT]]
    lines += ["]", ""]
    count = len(packages)
    for position, (name, version) in enumerate(packages):
        lines += ["[[package]]", f'name = "{name}"', f'version = "{version}"',
                  f'source = {{ registry = "{registry}" }}']  # fmt: skip
        # A tree under the direct ones: every package reachable, chains 2-6 steps deep.
        later = [d for d in range(DIRECT + 3 * position, DIRECT + 3 * position + 3) if d < count]
        if later:
            lines.append("dependencies = [")
            lines += [f'    {{ name = "{packages[d][0]}" }},' for d in later]
            lines.append("]")
        lines += [
            f'sdist = {{ url = "{registry.replace("/simple/", "/packages/")}{name}-{version}'
            f'.tar.gz", hash = "sha256:{"0" * 64}", size = 1000 }}',
            "",
        ]
    return "\n".join(lines)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_parse(text: str, repeat: int) -> tuple[float, float, float, int]:
    """(best wall, median wall, best CPU) seconds of parse + every chain, and the count."""

    def once() -> tuple[float, float]:
        started, cpu = time.perf_counter(), time.process_time()
        parsed = parse_lock_text("uv.lock", text)
        graph = parsed.graph
        assert graph is not None
        chains_to(graph, {r.canonical_name for r in parsed.requirements} - graph.direct)
        return time.perf_counter() - started, time.process_time() - cpu

    parsed = parse_lock_text("uv.lock", text)
    runs = [once() for _ in range(repeat * 4)]
    walls = [wall for wall, _ in runs]
    return min(walls), statistics.median(walls), min(c for _, c in runs), len(parsed.requirements)


_INSTALLED: dict[Path, dict[str, str]] = {}


def time_check(
    executable: Path, project: Path, index: str, cache: Path
) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, exit code) of one whole `check` process."""
    command = [str(executable), "check", "uv.lock", "--index-url", index,
               "--cache-dir", str(cache), "--fail-on", "none"]  # fmt: skip
    env = _INSTALLED.get(executable)
    if env is None:  # compiled once per executable, outside the timing
        env = _INSTALLED[executable] = as_installed(executable, dict(os.environ))
    env = {**env, **NO_INTERNET, "SBOM_ENRICH_ALTERNATIVES": ""}
    started, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, check=False)
    return time.perf_counter() - started, children_cpu() - cpu, done.returncode


def time_uv_audit(uv: Path, project: Path, index: str, osv: str, cache: Path) -> tuple[float, int]:
    command = [str(uv), "audit", "--frozen", "--preview-features", "audit-command",
               "--default-index", index, "--service-url", osv, "--cache-dir", str(cache),
               "--no-progress", "--color", "never"]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=uv_env({}), capture_output=True, check=False)
    return time.perf_counter() - started, done.returncode


def measure(
    label: str, project: Path, index: str, repeat: int, uv: Path | None, osv: OsvStub
) -> None:
    text = (project / "uv.lock").read_text()
    best, median, cpu, count = time_parse(text, repeat)
    print(f"{label}: {count} locked packages, {len(text) / 1e6:.2f} MB")
    print(f"  parse + chains (in-process)        best {best * 1000:6.1f} ms  median "
          f"{median * 1000:6.1f} ms  CPU best {cpu * 1000:6.1f} ms")  # fmt: skip
    cache = project / ".cache"
    shutil.rmtree(cache, ignore_errors=True)
    cold, cold_cpu, code = time_check(DEV_EXECUTABLE, project, index, cache)
    print(f"  check, cold cache (fills it)       {cold:6.3f} s  CPU {cold_cpu:6.3f} s  exit {code}")
    warm = [time_check(DEV_EXECUTABLE, project, index, cache) for _ in range(repeat)]
    seconds = [s for s, _, _ in warm]
    cpus = [c for _, c, _ in warm]
    print(f"  check, warm cache (whole process)  best {min(seconds):6.3f} s  median "
          f"{statistics.median(seconds):6.3f} s  CPU best {min(cpus):6.3f} s  "
          f"exit {warm[0][2]}")  # fmt: skip
    if uv is not None:
        uv_cache = project / ".uv-cache"
        shutil.rmtree(uv_cache, ignore_errors=True)
        cold_uv, code = time_uv_audit(uv, project, index, osv.url, uv_cache)
        print(f"  uv audit --frozen, cold cache      {cold_uv:6.3f} s  exit {code}")
        again = [time_uv_audit(uv, project, index, osv.url, uv_cache)[0] for _ in range(repeat)]
        print(f"  uv audit --frozen, again           best {min(again):6.3f} s  median "
              f"{statistics.median(again):6.3f} s")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--uv-lock", action="store_true", help="also time a lock made by uv")
    args = parser.parse_args()
    uv_found = shutil.which("uv", path=str(Path(sys.executable).parent))
    uv = Path(uv_found) if uv_found else None
    if uv is None:
        print("# no uv beside this Python: the uv audit rows are left out")
    print(f"# {os.cpu_count()} CPUs; sbom-enrich {DEV_EXECUTABLE}; uv {uv}")
    osv = OsvStub()
    with tempfile.TemporaryDirectory(prefix="bench-locks-") as scratch:
        work = Path(scratch)
        index = Index(
            args.packages, 0.0, 600, work / "stats.json", port=0, extra_args=("--core-metadata",)
        )
        try:
            packages = pairs(args.packages)
            synthetic = work / "synthetic"
            synthetic.mkdir()
            (synthetic / "uv.lock").write_text(synthetic_uv_lock(packages, index.url))
            direct = "".join(f'  "{n}=={v}",\n' for n, v in packages[:DIRECT])
            (synthetic / "pyproject.toml").write_text(  # uv audit wants one (--frozen: unread)
                f'[project]\nname = "{ROOT_NAME}"\nversion = "0.1.0"\n'
                f'requires-python = ">=3.10"\ndependencies = [\n{direct}]\n'
            )
            measure("synthetic uv.lock", synthetic, index.url, args.repeat, uv, osv)
            if args.uv_lock and uv is not None:
                real = work / "uv-made"
                real.mkdir()
                quarantined = {
                    canonical(s.name)
                    for s in synthetic_projects(args.packages)
                    if s.status == "quarantined"
                }
                wanted = "".join(f'  "{n}=={v}",\n' for n, v in packages if n not in quarantined)
                (real / "pyproject.toml").write_text(
                    f'[project]\nname = "{ROOT_NAME}"\nversion = "0.1.0"\n'
                    f'requires-python = ">=3.10"\ndependencies = [\n{wanted}]\n'
                )
                started = time.perf_counter()
                subprocess.run(
                    [str(uv), "lock", "--default-index", index.url, "--no-progress",
                     "--cache-dir", str(work / "uv-lock-cache")],
                    cwd=real, env={**uv_env({}), "UV_PYTHON": sys.executable},
                    check=True, capture_output=True,
                )  # fmt: skip
                print(f"# uv lock made the real lock in {time.perf_counter() - started:.1f} s")
                measure("uv-made uv.lock", real, index.url, args.repeat, uv, osv)
        finally:
            index.stop()
            osv.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
