"""Language-server latency and memory against the local test index; prints numbers (not a test).

Run: .venv/bin/python bench/bench_lsp.py [--lines 500] [--latency 0.05]
     .venv/bin/python bench/bench_lsp.py --scenario backlog [--backlog-lines 5000]
     .venv/bin/python bench/bench_lsp.py --scenario startup [--rounds 7]
     .venv/bin/python bench/bench_lsp.py --scenario edit [--edit-lines 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from indexserver import IndexServer, ProjectSpec, synthetic_projects  # noqa: E402

SERVER = [sys.executable, "-m", "lsp"]


@dataclass
class Recorder:
    """Every publishDiagnostics with its arrival time."""

    events: list[tuple[float, types.PublishDiagnosticsParams]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def on_publish(self, params: types.PublishDiagnosticsParams) -> None:
        self.events.append((time.perf_counter(), params))
        self.arrived.set()

    async def wait_for(self, uri: str, since: int, predicate: Any, timeout: float = 30.0) -> float:
        """Time of the first publish for ``uri`` after event ``since`` that satisfies it."""
        deadline = time.perf_counter() + timeout
        seen = since
        while True:
            for moment, params in self.events[seen:]:
                if params.uri == uri and predicate(params):
                    return moment
            seen = len(self.events)
            self.arrived.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"no matching diagnostics for {uri}")
            await asyncio.wait_for(self.arrived.wait(), remaining)


async def start(
    index: IndexServer, cache: Path, options: dict[str, Any] | None = None
) -> tuple[LanguageClient, Recorder]:
    client = LanguageClient("bench", "1")
    recorder = Recorder()

    def on_publish(params: types.PublishDiagnosticsParams) -> None:
        recorder.on_publish(params)

    client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)(on_publish)
    await client.start_io(*SERVER)
    await client.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            initialization_options={
                "indexUrl": index.url,
                "cacheDir": str(cache),
                **(options or {}),
            },
        )
    )
    client.initialized(types.InitializedParams())
    return client, recorder


async def stop(client: LanguageClient) -> None:
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()


def did_open(client: LanguageClient, uri: str, text: str) -> float:
    moment = time.perf_counter()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="requirements", version=1, text=text
            )
        )
    )
    return moment


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14, 15)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(lines: int, latency: float) -> None:
    projects = synthetic_projects(lines)
    names = [p.name for p in projects]
    flagged = sum(p.status != "active" for p in projects)
    text = "".join(f"{name}\n" for name in names)
    complete = lambda p: len(p.diagnostics) >= flagged  # noqa: E731
    any_status = lambda p: len(p.diagnostics) > 0  # noqa: E731

    with IndexServer(projects, latency=latency) as index, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cache = root / "cache"
        print(f"{lines} requirements, {flagged} flagged, index latency {latency * 1000:.0f} ms")

        # Cold cache: every name is a network lookup.
        client, rec = await start(index, cache)
        uri = (root / "requirements.txt").as_uri()
        t0 = did_open(client, uri, text)
        first_any = await rec.wait_for(uri, 0, lambda p: True)
        first = await rec.wait_for(uri, 0, any_status)
        done = await rec.wait_for(uri, 0, complete)
        print(f"cold  didOpen -> first publish (cached/parse only) {ms(first_any - t0)}")
        print(f"cold  didOpen -> first status diagnostic          {ms(first - t0)}  (<= 200 ms)")
        print(f"cold  didOpen -> all diagnostics                  {ms(done - t0)}  (<= 2000 ms)")
        await stop(client)

        # Warm cache, fresh server process: answers come from the disk cache.
        client, rec = await start(index, cache)
        warm = []
        for i in range(5):
            uri = (root / f"requirements-{i}.txt").as_uri()
            since = len(rec.events)
            t0 = did_open(client, uri, text)
            warm.append(await rec.wait_for(uri, since, complete) - t0)
        print(f"warm  didOpen -> publishDiagnostics (first file)  {ms(warm[0])}  (<= 100 ms)")
        print(f"warm  didOpen -> publishDiagnostics (median of 5) {ms(statistics.median(warm))}")

        # Hover on names spread over the file.
        hovers = []
        for i in range(50):
            line = (i * 37) % lines
            t0 = time.perf_counter()
            await client.text_document_hover_async(
                types.HoverParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=types.Position(line=line, character=1),
                )
            )
            hovers.append(time.perf_counter() - t0)
        hovers.sort()
        p95 = hovers[int(len(hovers) * 0.95)]
        print(f"hover median {ms(statistics.median(hovers))}, p95 {ms(p95)}  (<= 20 ms)")

        # didChange: swap the first line's name, wait for that version's diagnostics.
        changes = []
        for version in range(2, 12):
            since = len(rec.events)
            new_first = names[version % lines]
            t0 = time.perf_counter()
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[
                        types.TextDocumentContentChangePartial(
                            range=types.Range(
                                start=types.Position(line=0, character=0),
                                end=types.Position(line=1, character=0),
                            ),
                            text=f"{new_first}\n",
                        )
                    ],
                )
            )
            moment = await rec.wait_for(uri, since, lambda p, v=version: p.version == v)
            changes.append(moment - t0)
        print(
            f"didChange -> diagnostics median {ms(statistics.median(changes))}"
            "  (<= debounce 300 ms + 50 ms)"
        )

        # Memory with 20 open files of the same size.
        for i in range(5, 20):
            uri = (root / f"requirements-{i}.txt").as_uri()
            since = len(rec.events)
            did_open(client, uri, "".join(f"{n}\n" for n in names[i:] + names[:i]))
            await rec.wait_for(uri, since, complete)
        assert client._server is not None  # the subprocess pygls started
        print(f"server RSS with 20 open files: {rss_mb(client._server.pid):.0f} MB  (<= 120 MB)")
        await stop(client)


async def run_backlog(lines: int, latency: float) -> None:
    """A big file opened cold, then a new name typed while its lookups are still queued."""
    projects = synthetic_projects(lines)
    typed = ProjectSpec("just-typed-quarantined", status="quarantined")
    text = "".join(f"{p.name}\n" for p in projects)
    line = lines // 2
    with (
        IndexServer([*projects, typed], latency=latency) as index,
        tempfile.TemporaryDirectory() as tmp,
    ):
        root = Path(tmp)
        print(f"{lines} requirements opened cold, index latency {latency * 1000:.0f} ms")
        client, rec = await start(index, root / "cache")
        uri = (root / "requirements.txt").as_uri()
        t_open = did_open(client, uri, text)
        await rec.wait_for(uri, 0, lambda p: len(p.diagnostics) > 0)
        since = len(rec.events)
        asked_before = index.stats.requests
        t0 = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(
                            start=types.Position(line=line, character=0),
                            end=types.Position(line=line, character=0),
                        ),
                        text=f"{typed.name}\n",
                    )
                ],
            )
        )

        def typed_flagged(params: types.PublishDiagnosticsParams) -> bool:
            return any(
                d.range.start.line == line and d.code == "sbom-enrich/quarantined"
                for d in params.diagnostics
            )

        answered = await rec.wait_for(uri, since, typed_flagged, timeout=120)
        asked_meanwhile = index.stats.requests - asked_before
        everything = sum(p.status != "active" for p in projects) + 1
        drained = await rec.wait_for(
            uri, since, lambda p: len(p.diagnostics) >= everything, timeout=120
        )
        print(
            f"didChange adding a name -> its diagnostic     {ms(answered - t0)}"
            f"  (debounce 300 ms; {asked_meanwhile} other lookups sent meanwhile)"
        )
        sent = [params for moment, params in rec.events if moment <= drained and params.uri == uri]
        print(f"didOpen -> backlog drained                    {ms(drained - t_open)}")
        print(
            f"publishDiagnostics until drained: {len(sent)}"
            f" ({sum(len(p.diagnostics) for p in sent)} diagnostics in all)"
        )
        await stop(client)


class RawServer:
    """The server as a plain subprocess and a reader thread: what an editor sees, with the
    arrival time of each message (no client library between the pipe and the clock)."""

    def __init__(self, argv: list[str]) -> None:
        self.started = time.perf_counter()
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.messages: queue.Queue[tuple[float, dict[str, Any]] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            length = None
            while (line := stdout.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if line == b"" or length is None:
                self.messages.put(None)
                return
            content = stdout.read(length)
            self.messages.put((time.perf_counter(), json.loads(content)))

    def send(self, *messages: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        for message in messages:
            content = json.dumps(message).encode()
            self.process.stdin.write(b"Content-Length: %d\r\n\r\n%b" % (len(content), content))
        self.process.stdin.flush()

    def until(self, predicate: Any, timeout: float = 60.0) -> float:
        """Seconds from spawn to the first message that satisfies ``predicate``."""
        while (item := self.messages.get(timeout=timeout)) is not None:
            moment, message = item
            if predicate(message):
                return moment - self.started
        raise RuntimeError("the server ended first")

    def stop(self) -> None:
        self.send({"jsonrpc": "2.0", "id": 99, "method": "shutdown"})
        self.until(lambda m: m.get("id") == 99)
        self.send({"jsonrpc": "2.0", "method": "exit"})
        self.process.wait(timeout=30)


def startup_session(
    argv: list[str], options: dict[str, Any], uri: str, text: str, flagged: int
) -> tuple[float, float, float, float]:
    """Spawn -> initialize answered, spawn -> the opened file's diagnostics (warm cache), and
    the server's CPU seconds at each."""
    server = RawServer(argv)
    server.send(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "capabilities": {}, "initializationOptions": options},
        }
    )
    answered = server.until(lambda m: m.get("id") == 1)
    cpu_answered = cpu_seconds(server.process.pid)  # a few ms late: the server goes on loading
    item = {"uri": uri, "languageId": "requirements", "version": 1, "text": text}
    server.send(
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": item}},
    )
    diagnosed = server.until(
        lambda m: (
            m.get("method") == "textDocument/publishDiagnostics"
            and len(m["params"]["diagnostics"]) >= flagged
        )
    )
    cpu = cpu_seconds(server.process.pid)
    server.stop()
    return answered, diagnosed, cpu_answered, cpu


async def run_startup(rounds: int = 7) -> None:
    """Spawn -> initialize answered, and -> first diagnostics, with and without the early answer."""
    projects = synthetic_projects(50)
    flagged = sum(p.status != "active" for p in projects)
    text = "".join(f"{p.name}\n" for p in projects)
    modes = {
        "early initialize": SERVER,
        "--no-early-initialize": [*SERVER, "--no-early-initialize"],
    }
    with IndexServer(projects) as index, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        options = {"indexUrl": index.url, "cacheDir": str(root / "cache")}
        uri = (root / "requirements.txt").as_uri()
        # Fill the disk cache once: every round then publishes from it, without the network.
        startup_session(SERVER, options, uri, text, flagged)
        results: dict[str, list[tuple[float, float, float, float]]] = {m: [] for m in modes}
        for _ in range(rounds):
            for mode, argv in modes.items():  # interleaved: load from other work hits both
                results[mode].append(
                    await asyncio.to_thread(startup_session, argv, options, uri, text, flagged)
                )
    print(
        f"{rounds} runs each, interleaved; {len(projects)} requirements"
        f" ({flagged} flagged), warm cache"
    )
    for mode, runs in results.items():
        answered, diagnosed, cpu_answered, cpu = (
            sorted(column) for column in zip(*runs, strict=True)
        )
        print(
            f"{mode:24} spawn -> initialize answered  median {ms(statistics.median(answered))}"
            f"  (min {ms(answered[0])}, max {ms(answered[-1])})  (<= 300 ms)"
        )
        print(
            f"{mode:24}   server CPU then             median {ms(statistics.median(cpu_answered))}"
        )
        print(
            f"{mode:24} spawn -> first diagnostics     median {ms(statistics.median(diagnosed))}"
            f"  (min {ms(diagnosed[0])}, max {ms(diagnosed[-1])})"
        )
        print(f"{mode:24}   server CPU then             median {ms(statistics.median(cpu))}")
    for label, code in (
        ("import lsp.__main__, lsp.bootstrap", "import lsp.__main__, lsp.bootstrap"),
        ("import lsp.server", "import lsp.server"),
    ):
        imports = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            await (await asyncio.create_subprocess_exec(sys.executable, "-c", code)).wait()
            imports.append(time.perf_counter() - t0)
        print(
            f"python -c '{label}'{' ' * (36 - len(label))}median {ms(statistics.median(imports))}"
        )


async def run_edit(lines: int, rounds: int = 10) -> None:
    """Typing in a big file with a warm cache: didChange -> that version's diagnostics."""
    projects = synthetic_projects(lines)
    names = [p.name for p in projects]
    flagged = sum(p.status != "active" for p in projects)
    text = "".join(f"{name}\n" for name in names)
    with IndexServer(projects, latency=0.0) as index, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        client, rec = await start(index, root / "cache")
        uri = (root / "requirements.txt").as_uri()
        did_open(client, uri, text)
        await rec.wait_for(uri, 0, lambda p: len(p.diagnostics) >= flagged, timeout=120)
        results: dict[str, list[float]] = {"replace line 0": [], "insert a line mid-file": []}
        version = 1
        for round_ in range(rounds):
            for kind in results:
                version += 1
                middle = lines // 2
                start_line, end_line, new_text = (
                    (0, 1, f"{names[(round_ + 1) % lines]}\n")
                    if kind == "replace line 0"
                    else (middle, middle, f"{names[round_ % lines]}\n")
                )
                since = len(rec.events)
                t0 = time.perf_counter()
                client.text_document_did_change(
                    types.DidChangeTextDocumentParams(
                        text_document=types.VersionedTextDocumentIdentifier(
                            uri=uri, version=version
                        ),
                        content_changes=[
                            types.TextDocumentContentChangePartial(
                                range=types.Range(
                                    start=types.Position(line=start_line, character=0),
                                    end=types.Position(line=end_line, character=0),
                                ),
                                text=new_text,
                            )
                        ],
                    )
                )
                moment = await rec.wait_for(uri, since, lambda p, v=version: p.version == v)
                results[kind].append(moment - t0)
        print(f"{lines} requirements ({flagged} flagged), warm cache, debounce 300 ms:")
        for kind, times in results.items():
            print(
                f"didChange ({kind}) -> diagnostics median {ms(statistics.median(times))}, "
                f"max {ms(max(times))}  (<= 350 ms)"
            )
        await stop(client)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05, help="index latency in seconds")
    parser.add_argument(
        "--scenario", choices=["all", "basic", "backlog", "startup", "edit"], default="all"
    )
    parser.add_argument("--edit-lines", type=int, default=3000, help="file size for 'edit'")
    parser.add_argument("--rounds", type=int, default=7, help="runs per mode for 'startup'")
    parser.add_argument(
        "--backlog-lines", type=int, default=5000, help="file size for the backlog scenario"
    )
    args = parser.parse_args(argv)
    if args.scenario in ("all", "basic"):
        asyncio.run(run(args.lines, args.latency))
    if args.scenario in ("all", "backlog"):
        asyncio.run(run_backlog(args.backlog_lines, args.latency))
    if args.scenario in ("all", "startup"):
        asyncio.run(run_startup(args.rounds))
    if args.scenario in ("all", "edit"):
        asyncio.run(run_edit(args.edit_lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
