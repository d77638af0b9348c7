"""What reading one big Simple API page costs: parse + reduce, and the file-name parsers.

Rerun:

    .venv/bin/python bench/bench_parse_page.py [--releases 2000] [--repeat 20]

A JSON page of ``--releases`` releases (a wheel and an sdist each, one yanked release, so every
file name is split), parsed and reduced to a record; then the wheel file names alone through
this client's split and through ``packaging.utils.parse_wheel_filename``. Mean of --repeat.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timezone

from packaging.utils import parse_wheel_filename

from sbom_enrich.status.simple_api import parse_page, to_record, version_from_filename


def page(releases: int) -> tuple[bytes, list[str]]:
    files, versions, wheels = [], [], []
    for i in range(releases):
        version = f"{i // 100}.{i % 100}.0"
        versions.append(version)
        wheel = f"big_proj-{version}-py3-none-any.whl"
        wheels.append(wheel)
        files.extend(
            {"filename": filename, "url": "x", "hashes": {}, "yanked": i == 5}
            for filename in (wheel, f"big_proj-{version}.tar.gz")
        )
    doc = {"meta": {"api-version": "1.4"}, "name": "big-proj", "files": files,
           "versions": versions, "project-status": {"status": "active"}}  # fmt: skip
    return json.dumps(doc).encode(), wheels


def mean_ms(work: object, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        work()  # type: ignore[operator]
    return (time.perf_counter() - started) / repeat * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--releases", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    body, wheels = page(args.releases)
    now = datetime.now(timezone.utc)
    json_type = "application/vnd.pypi.simple.v1+json"

    def read() -> None:
        to_record(parse_page(body, json_type), name="big-proj", index_url="x", checked_at=now)

    files = 2 * args.releases
    print(f"page of {files} files (a yanked release): {mean_ms(read, args.repeat):.1f} ms")
    ours = mean_ms(lambda: [version_from_filename(w, "big-proj") for w in wheels], args.repeat)
    theirs = mean_ms(lambda: [parse_wheel_filename(w) for w in wheels], args.repeat)
    per = 1000 / len(wheels)
    for label, ms in (("split here", ours), ("parse_wheel_filename", theirs)):
        print(f"{len(wheels)} wheel names, {label:<21} {ms:6.1f} ms ({ms * per:.1f} µs each)")


if __name__ == "__main__":
    main()
