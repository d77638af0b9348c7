"""Paired A/B of two source trees on a warm, offline `enrich` of issue 18's 10,000-component SBOMs.

Run:

    git worktree add /tmp/old <rev>
    .venv/bin/python bench/bench_paired_offline.py --old /tmp/old/src [--new src] [--pairs 11]

The question it answers is "did this change cost the document work anything?", the part
issue 18's ratios measure (bench_enrich.py --documents-only: our process against json/lxml
re-rendering the same file). bench_paired.py answers it for cold runs against nginx; this one
is the warm, offline case, where no index is asked and the CPU is the document's, the cache
read's and the summary's. Both trees run the same dev venv's interpreter with their own
``src`` first on PYTHONPATH, alternating one after the other (the order reversed every other
pair) against one cache filled once from the test index; it prints, per SBOM, the median and
best CPU of each side and the median of the pairs' new/old ratios, with their range. Output
bytes of the two sides are compared too: a speed change must not change the document.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_enrich import PORT, Index, child_cpu, load_average, make_realistic_sboms

ROOT = Path(__file__).resolve().parent.parent


def enrich_command(sbom: Path, out: Path, url: str, cache: Path, offline: bool) -> list[str]:
    return [
        sys.executable, "-m", "sbom_enrich", "enrich", str(sbom), "-o", str(out),
        "--index-url", url, "--cache-dir", str(cache), "--fail-on", "none",
        *(["--offline"] if offline else []),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="the old tree's src directory")
    parser.add_argument("--new", type=Path, default=ROOT / "src", help="the new tree's src")
    parser.add_argument("--pairs", type=int, default=11)
    parser.add_argument("--components", type=int, default=10000)
    args = parser.parse_args()
    sides = {"old": args.old.resolve(), "new": args.new.resolve()}
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    base["SBOM_ENRICH_ALTERNATIVES"] = ""
    envs = {label: {**base, "PYTHONPATH": str(src)} for label, src in sides.items()}
    work = Path(tempfile.mkdtemp(prefix="sbom-enrich-paired-offline-"))
    cache = work / "cache"
    index = Index(args.components, 0, 600, work / "stats.json", PORT)
    try:
        sboms = make_realistic_sboms(args.components)
        for sbom in sboms:  # fill the cache, and compile each tree's bytecode
            for label, env in envs.items():
                command = enrich_command(sbom, work / f"{label}{sbom.suffix}", index.url, cache,
                                         offline=False)  # fmt: skip
                subprocess.run(command, env=env, check=True, capture_output=True)
    finally:
        index.stop()
    print(f"# warm, offline enrich, {args.components} components; load {load_average()}")
    for sbom in sboms:
        cpu: dict[str, list[float]] = {label: [] for label in sides}
        for pair in range(args.pairs):
            order = list(sides) if pair % 2 == 0 else list(reversed(sides))
            for label in order:
                command = enrich_command(sbom, work / f"{label}{sbom.suffix}", index.url, cache,
                                         offline=True)  # fmt: skip
                env = envs[label]
                cpu[label].append(child_cpu(lambda c=command, e=env: subprocess.run(
                    c, env=e, check=True, capture_output=True)))  # fmt: skip
        ratios = sorted(n / o for n, o in zip(cpu["new"], cpu["old"], strict=True))
        old_out, new_out = (work / f"{label}{sbom.suffix}" for label in ("old", "new"))
        output = "identical" if old_out.read_bytes() == new_out.read_bytes() else "DIFFERS"
        print(
            f"{sbom.suffix[1:]:<4} old median {statistics.median(cpu['old']):.3f} s "
            f"best {min(cpu['old']):.3f} | new median {statistics.median(cpu['new']):.3f} s "
            f"best {min(cpu['new']):.3f} | new/old median {statistics.median(ratios):.3f} "
            f"(pairs {ratios[0]:.2f}-{ratios[-1]:.2f}) | output {output}"
        )
    print(f"# load {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
