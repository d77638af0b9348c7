"""Paired A/B on a real nginx: the CPU of cold `enrich` runs of two source trees, alternating.

Run (nginx and its echo module from scripts/ensure-nginx):

    .venv/bin/python bench/bench_paired.py --side old=/path/to/main/src --side new=src \\
        [--transport h2] [--workers 1] [--rounds 8] [--ca-bundle] [-- extra enrich flags]

One tree with two settings: ``--side asyncio=src --side uvloop=src --side-env
asyncio:SBOM_ENRICH_EVENT_LOOP=asyncio`` (the event loop's A/B, docs/connections.md).

On a machine others share, wall times and single runs mean little; what compares is the CPU
of runs of both trees made in the same minutes (CONTRIBUTING: measuring speed). Each round
runs every side once (in turn, the order reversed every other round) against a fresh nginx
(tests/nginx_index.py: 1,000 projects with PyPI's heavy tail, 50 ms in the server) and a
fresh cache, with compiled bytecode; it prints each run's CPU (user + system of the child),
its connections and how many resumed a TLS session (nginx's log), then best and median per
side. ``--ca-bundle`` trusts certifi's bundle plus the test CA (the CA loading of a real
run: ~25 ms a process) instead of the test CA alone. ``--timeline`` runs the CLI through
bench/worker_timeline.py and also prints, for runs with lookup workers, the time between the
workers' last answers ("gap") and the median of each round's difference of the later side
from the first (wall and gap): paired differences, as the machine's load moves.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import nginx_index  # noqa: E402
import worker_timeline  # noqa: E402
from bench_vs_uv import NO_INTERNET, child_cpu  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--side", action="append", required=True, help="label=source directory (twice or more)"
    )
    parser.add_argument(
        "--side-env",
        action="append",
        default=[],
        help="label:NAME=VALUE, an environment variable for that side's runs only",
    )
    parser.add_argument("--transport", choices=("h1", "h2"), default="h2")
    parser.add_argument("--workers", default="1")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--components", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--ca-bundle", action="store_true")
    parser.add_argument("--timeline", action="store_true", help="time the workers' tail")
    parser.add_argument(
        "--sbom-enrich", type=Path, default=Path(sys.executable).parent / "sbom-enrich"
    )
    parser.add_argument("extra", nargs="*", help="more enrich flags (after --)")
    args = parser.parse_args()
    why_not = nginx_index.available()
    if why_not:
        print(why_not, file=sys.stderr)
        return 2
    sides = [
        (label, Path(source).resolve()) for label, source in (s.split("=", 1) for s in args.side)
    ]
    side_env: dict[str, dict[str, str]] = {label: {} for label, _ in sides}
    for setting in args.side_env:
        label, _, assignment = setting.partition(":")
        name, _, value = assignment.partition("=")
        side_env[label][name] = value
    work = Path(tempfile.mkdtemp(prefix="bench-paired-"))
    try:
        return measure(args, sides, side_env, work)
    finally:
        # The tree, the certificates and every round's cache: tens of MB a run, left in /tmp.
        shutil.rmtree(work, ignore_errors=True)


def measure(
    args: argparse.Namespace,
    sides: list[tuple[str, Path]],
    side_env: dict[str, dict[str, str]],
    work: Path,
) -> int:
    """Every round of every side, in ``work``; prints the runs and the summary."""
    os.chmod(work, 0o755)  # nginx's workers run as another user
    projects = nginx_index.heavy_tail_projects(args.components)
    nginx_index.write_tree(projects, work / "root")
    sbom = work / "sbom.json"
    nginx_index.make_sbom(projects, sbom)
    certs = nginx_index.make_certificates(work)
    ca_file = certs[2]
    if args.ca_bundle:
        import certifi

        ca_file = work / "bundle.pem"
        ca_file.write_bytes(Path(certifi.where()).read_bytes() + certs[2].read_bytes())
    base = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    base.update(NO_INTERNET, SBOM_ENRICH_ALTERNATIVES="", SSL_CERT_FILE=str(ca_file))
    python = str(Path(sys.executable))
    for _, source in sides:  # as an installed copy runs: with bytecode
        code = (
            "import compileall, os, sbom_enrich\n"
            "compileall.compile_dir(os.path.dirname(sbom_enrich.__file__), quiet=1)"
        )
        subprocess.run([python, "-c", code], env={**base, "PYTHONPATH": str(source)}, check=True)
    cpu: dict[str, list[float]] = {label: [] for label, _ in sides}
    wall: dict[str, list[float]] = {label: [] for label, _ in sides}
    gap: dict[str, list[float]] = {label: [] for label, _ in sides}
    print(
        f"# {args.components} projects, {args.transport}, --workers {args.workers}, "
        f"{args.rounds} rounds"
    )
    for round_number in range(args.rounds):
        for label, source in sides if round_number % 2 == 0 else sides[::-1]:
            run = work / f"run-{round_number}-{label}"
            nginx = nginx_index.Nginx(work / "root", run, certs, args.latency)
            command = [str(args.sbom_enrich), "enrich", str(sbom), "-o", str(run / "out.json")]
            env = {**base, **side_env[label], "PYTHONPATH": str(source)}
            if args.timeline:
                code = "import worker_timeline; raise SystemExit(worker_timeline.main())"
                command[:1] = [python, "-c", code]
                env.update(
                    PYTHONPATH=f"{source}{os.pathsep}{ROOT / 'bench'}",
                    BENCH_TIMELINE=str(run / "timeline"),
                )
            command += ["--index-url", nginx.url(args.transport), "--cache-dir", str(run / "cache")]
            command += ["--fail-on", "none", "--workers", args.workers, *args.extra]
            before, started = child_cpu(), time.perf_counter()
            try:
                done = subprocess.run(command, env=env, capture_output=True, text=True)
            finally:
                counts = nginx.stop()
            seconds, used = time.perf_counter() - started, child_cpu() - before
            cpu[label].append(used)
            wall[label].append(seconds)
            tail = ""
            times = worker_timeline.summary(str(run / "timeline")) if args.timeline else None
            gap[label].append(math.nan if times is None else times["gap"])
            if times is not None:
                tail = (
                    f"  gap {times['gap'] * 1000:.0f} ms  parent +{times['parent'] * 1000:.0f} ms"
                    f"  answering {times['parallel']:.2f} s  answers {times['answers']:.0f}"
                )
            print(
                f"{round_number} {label:<8} CPU {used:.3f} s  wall {seconds:.2f} s  "
                f"exit {done.returncode}"
                f"  connections {counts.connections} ({counts.resumed} resumed){tail}",
                flush=True,
            )
            if done.returncode:
                print(f"    {done.stderr.strip()[-400:]}")
    for label, _ in sides:
        print(
            f"{label}: CPU best {min(cpu[label]):.3f} s, "
            f"median {statistics.median(cpu[label]):.3f} s; wall median "
            f"{statistics.median(wall[label]):.3f} s"
            + (f"; gap median {median(gap[label]) * 1000:.0f} ms" if args.timeline else "")
        )
    first = sides[0][0]
    for label, _ in sides[1:]:
        print(f"{label} - {first}, median of the rounds' differences: {paired(wall, label, first)}")
        if args.timeline:
            print(f"    gap: {paired(gap, label, first, 1000, 'ms')}")
    return 0


def median(values: list[float]) -> float:
    """The median of the runs that had workers (NaN: one that had none)."""
    known = [value for value in values if not math.isnan(value)]
    return statistics.median(known) if known else math.nan


def paired(
    values: dict[str, list[float]], label: str, first: str, scale: float = 1.0, unit: str = "s"
) -> str:
    """The median and quartiles of ``label``'s value less ``first``'s, round by round."""
    pairs = zip(values[first], values[label], strict=True)
    differences = [(b - a) * scale for a, b in pairs if not math.isnan(a - b)]
    if len(differences) < 2:
        return "too few rounds"
    low, middle, high = statistics.quantiles(differences, n=4)
    won = sum(d < 0 for d in differences)
    return (
        f"{middle:+.3f} {unit} (quartiles {low:+.3f}, {high:+.3f}; "
        f"lower in {won} of {len(differences)})"
    )


if __name__ == "__main__":
    raise SystemExit(main())
