"""What decoding the nginx bench's 1,000 JSON pages costs, by decoder, in one process.

Rerun:

    .venv/bin/python bench/bench_json_pages.py [--projects 1000] [--repeat 7]

The pages are the ones bench/bench_vs_uv.py serves (tests/nginx_index.py: PyPI's heavy tail,
API 1.4, 23 MB for 1,000). Each line is the CPU (process time) of all pages, best of
--repeat: the decoders alone (``json.loads``; orjson and msgspec's untyped decode when
installed; the typed decode ``simple_api`` uses), then the whole page distilling
(``parse_json_page`` + ``to_record``) with the fast decoder and with ``json`` alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from indexserver import canonical, render_json  # noqa: E402
from nginx_index import heavy_tail_projects  # noqa: E402
from sbom_enrich.status import simple_api  # noqa: E402


def best_ms(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        work()
        times.append(time.process_time() - started)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    projects = heavy_tail_projects(args.projects)
    pages = [(render_json(p, "1.4", i), canonical(p.name)) for i, p in enumerate(projects, 1)]
    bodies = [body for body, _ in pages]
    now = datetime.now(timezone.utc)
    megabytes = sum(map(len, bodies)) / 1e6
    print(f"{len(pages)} pages, {megabytes:.1f} MB; CPU of all pages, best of {args.repeat}")

    decoders: dict[str, Callable[[bytes], object]] = {"json.loads": json.loads}
    try:
        import orjson

        decoders["orjson.loads"] = orjson.loads
    except ImportError:
        pass
    import msgspec

    decoders["msgspec, untyped"] = msgspec.json.Decoder().decode
    decoders["msgspec, the fields read (simple_api)"] = simple_api._decode_fast
    for label, decode in decoders.items():
        ms = best_ms(lambda decode=decode: [decode(b) for b in bodies], args.repeat)  # type: ignore[misc]
        print(f"  decode  {label:<40} {ms:7.1f} ms ({ms / len(pages):.3f} ms a page)")

    def distil() -> None:
        for body, name in pages:
            page = simple_api.parse_json_page(body)
            simple_api.to_record(page, name=name, index_url="x", checked_at=now)

    fast = simple_api._decode_fast
    ms = best_ms(distil, args.repeat)
    simple_api._decode_fast = lambda body: None  # type: ignore[assignment]
    try:
        slow = best_ms(distil, args.repeat)
    finally:
        simple_api._decode_fast = fast
    for label, value in (("msgspec (now)", ms), ("json alone (before)", slow)):
        print(f"  parse + record, {label:<32} {value:7.1f} ms ({value / len(pages):.3f} ms a page)")


if __name__ == "__main__":
    main()
