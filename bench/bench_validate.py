"""What `--validate` costs: one `enrich` process with and without it, on the corpus SBOMs.

Rerun (the dev venv, or a user install with the validation extra):

    python3 -m venv .bench/user && .bench/user/bin/pip install -q ".[validation]"
    .venv/bin/python bench/bench_validate.py --sbom-enrich .bench/user/bin/sbom-enrich \
        [--repeat 3] [--sbom tests/data/sboms/X.json ...]

Each run is `sbom-enrich enrich SBOM -o OUT --offline --allow-incomplete` with an empty cache
directory, so no index is involved: the difference between the two rows is the validation of
input and output (schema loading included). Best of --repeat by wall time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_enrich import add_executable_option, chosen_executable  # noqa: E402

DEFAULT_SBOMS = [
    ROOT / "tests" / "data" / "sboms" / "bom-examples-juice-shop-npm-1.4.json",
    ROOT / "tests" / "data" / "sboms" / "bom-examples-juice-shop-npm-1.4.xml",
    ROOT / "tests" / "data" / "sboms" / "cyclonedx-py-environment-1.6.json",
]


def run(executable: Path, sbom: Path, validate: bool, work: Path) -> float:
    command = [
        str(executable),
        "enrich",
        str(sbom),
        "-o",
        str(work / ("out" + sbom.suffix)),
        "--offline",
        "--allow-incomplete",
        "--cache-dir",
        str(work / "empty-cache"),
    ]
    if validate:
        command.append("--validate")
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{sbom.name}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (best of)")
    parser.add_argument("--sbom", type=Path, action="append", help="repeatable")
    add_executable_option(parser)
    args = parser.parse_args()
    executable = chosen_executable(args)
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as directory:
        work = Path(directory)
        for sbom in args.sbom or DEFAULT_SBOMS:
            size = sbom.stat().st_size / 1e6
            plain = min(run(executable, sbom, False, work) for _ in range(args.repeat))
            checked = min(run(executable, sbom, True, work) for _ in range(args.repeat))
            print(
                f"{sbom.name:45} {size:5.2f} MB  without --validate {plain:6.2f} s"
                f"  with --validate {checked:6.2f} s"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
