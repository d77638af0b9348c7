"""A real nginx (Debian's, with its echo module) serving a static PEP 691/503/792 index.

The tree holds, per project, ``simple/<name>/index.json`` (PEP 691) and ``index.html`` (PEP 503),
both at API 1.4 with the PEP 792 status, each also gzipped beside it (``gzip_static``, as a
CDN serves PyPI). nginx picks the file by ``Accept`` (a ``map`` on ``$http_accept``), adds
the latency in the server (``echo_sleep``, then ``echo_exec`` to the file), and answers on two
ports: plain HTTP/1.1, and HTTP/2 over TLS (a trustme test CA; ALPN offers h2 and
http/1.1). Page sizes have PyPI's heavy tail: most projects tens of files, a few thousands.

Every request is logged as ``connection requests-on-it status protocol bytes resumed uri``
(resumed: ``r`` when its TLS connection resumed a session, else ``.`` or ``-``);
:meth:`Nginx.stop` returns counts from that log.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from indexserver import (  # noqa: E402
    ProjectSpec,
    canonical,
    release,
    render_html,
    render_json,
    synthetic_projects,
)
from listening import nginx_listeners, wait_for_pid  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ECHO_MODULE = Path("/usr/lib/nginx/modules/ngx_http_echo_module.so")

CONFIG = """
load_module {echo_module};
worker_processes 1;
daemon off;
error_log {run}/error.log warn;
pid {run}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  client_body_temp_path {run}/body;
  proxy_temp_path {run}/proxy;
  fastcgi_temp_path {run}/fastcgi;
  uwsgi_temp_path {run}/uwsgi;
  scgi_temp_path {run}/scgi;
  log_format index '$connection $connection_requests $status $server_protocol '
                   '$body_bytes_sent $ssl_session_reused $request_uri';
  access_log {run}/access.log index;
  sendfile on;
  keepalive_requests 10000;
  gzip_static on;
  types {{ application/vnd.pypi.simple.v1+json json; text/html html; }}
  map $http_accept $page {{
    "~application/vnd\\.pypi\\.simple\\.v1\\+json" index.json;
    default index.html;
  }}
  server {{
    listen 127.0.0.1:{http_port};
    listen 127.0.0.1:{https_port} ssl http2;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    root {root};
    location /simple/ {{
      echo_sleep {latency};
      echo_exec @page;
    }}
    location @page {{
      add_header Vary Accept;
      add_header Cache-Control "max-age=600, public";
      # A named capture: the map's own regex would overwrite $1.
      rewrite "^/simple/(?<project>[^/]+)/$" /simple/$project/$page break;
    }}
  }}
}}
"""


def available() -> str | None:
    """Why nginx cannot run here (None: it can)."""
    if not Path(NGINX).exists():
        return "no nginx (scripts/ensure-nginx installs Debian's)"
    if not ECHO_MODULE.exists():
        return "no nginx echo module (scripts/ensure-nginx installs libnginx-mod-http-echo)"
    return None


def heavy_tail_projects(n: int, seed: int = 0) -> list[ProjectSpec]:
    """The synthetic names and statuses, with PyPI-like file counts: median ~30, a few 1000s.

    Releases per project follow a Pareto law (alpha 1.16 from 8): about 1 in 100 projects has
    more than 500 releases (two files each), capped at 2,500.
    """
    rng = random.Random(seed)
    projects = []
    for spec in synthetic_projects(n, seed):
        releases = min(2500, int(rng.paretovariate(1.16) * 8))
        files = []
        t = 1_500_000_000 + rng.randrange(100_000_000)
        for r in range(releases):
            t += rng.randrange(3_600, 86_400 * 30)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".000000Z"
            version = f"{r // 100}.{r // 10 % 10}.{r % 10}"
            files += release(spec.name, version, upload_time=stamp, requires_python=">=3.8")
        projects.append(ProjectSpec(spec.name, status=spec.status, reason=spec.reason, files=files))
    return projects


def write_tree(projects: list[ProjectSpec], root: Path) -> dict[str, Any]:
    """The static tree (each page also gzipped); returns page-size statistics."""
    sizes = []
    files = []
    for serial, spec in enumerate(projects, 1):
        directory = root / "simple" / canonical(spec.name)
        directory.mkdir(parents=True, exist_ok=True)
        for filename, body in (
            ("index.json", render_json(spec, "1.4", serial)),
            ("index.html", render_html(spec, "1.4", serial)),
        ):
            (directory / filename).write_bytes(body)
            (directory / (filename + ".gz")).write_bytes(gzip.compress(body, 6, mtime=0))
            if filename == "index.json":
                sizes.append(len(body))
        files.append(len(spec.files))
    sizes.sort()
    files.sort()
    return {
        "projects": len(projects),
        "json_bytes_median": sizes[len(sizes) // 2],
        "json_bytes_max": sizes[-1],
        "json_bytes_total": sum(sizes),
        "files_median": files[len(files) // 2],
        "files_max": files[-1],
        "projects_over_1000_files": sum(f > 1000 for f in files),
    }


def make_sbom(projects: list[ProjectSpec], path: Path) -> list[tuple[str, str]]:
    """A CycloneDX 1.6 JSON SBOM naming each project at its newest version; the (name, version)s."""
    components = []
    pairs = []
    for spec in projects:
        wheels = [f.filename for f in spec.files if f.filename.endswith(".whl")]
        version = wheels[-1].split("-")[1] if wheels else "1.0"  # the newest release
        pairs.append((canonical(spec.name), version))
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
        "version": 1,
        "metadata": {"component": {"type": "application", "name": "bench", "bom-ref": "root"}},
        "components": components,
    }
    path.write_text(json.dumps(document))
    return sorted(pairs)


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """(certificate chain, key, CA) for 127.0.0.1 from a fresh trustme CA."""
    import trustme

    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    cert, key, ca = directory / "cert.pem", directory / "key.pem", directory / "ca.pem"
    issued.private_key_and_cert_chain_pem.write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca))
    return cert, key, ca


@dataclass(frozen=True)
class Counts:
    """What nginx logged for one run."""

    requests: int
    connections: int
    by_status: dict[str, int]
    by_protocol: dict[str, int]
    projects: int
    bytes_sent: int
    #: TLS connections whose handshake resumed an earlier session.
    resumed: int = 0

    def describe(self) -> str:
        resumed = f" ({self.resumed} resumed)" if self.resumed else ""
        return (
            f"requests {self.requests:>5}  projects {self.projects:>5}  "
            f"connections {self.connections:>4}{resumed}  status {self.by_status}  "
            f"protocol {self.by_protocol}  bytes {self.bytes_sent}"
        )


class Nginx:
    """One nginx process on two free ports (HTTP/1.1 and HTTP/2+TLS) over ``root``: sockets
    bound here, which it inherits."""

    def __init__(self, root: Path, run: Path, certs: tuple[Path, Path, Path], latency: float):
        run.mkdir(parents=True, exist_ok=True)
        self.run = run
        listeners, inherit = nginx_listeners(2)
        self.http_port, self.https_port = (sock.getsockname()[1] for sock in listeners)
        cert, key, self.ca = certs
        config = CONFIG.format(
            echo_module=ECHO_MODULE,
            run=run,
            root=root,
            cert=cert,
            key=key,
            latency=f"{latency:g}",
            http_port=self.http_port,
            https_port=self.https_port,
        )
        (run / "nginx.conf").write_text(config)
        (run / "nginx.pid").unlink(missing_ok=True)
        try:
            self.process = subprocess.Popen(
                [NGINX, "-c", str(run / "nginx.conf"), "-p", str(run)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=[sock.fileno() for sock in listeners],
                env={**os.environ, **inherit},
            )
        finally:
            for sock in listeners:  # nginx has them now
                sock.close()
        wait_for_pid(self.process, run / "nginx.pid")

    def url(self, transport: str) -> str:
        if transport == "h2":
            return f"https://127.0.0.1:{self.https_port}/simple/"
        return f"http://127.0.0.1:{self.http_port}/simple/"

    def cpu_seconds(self) -> float:
        """CPU time of nginx's processes so far (master + worker), from /proc."""
        total = 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        for pid in [self.process.pid, *self._children()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def _children(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def stop(self) -> Counts:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.counts()

    def counts(self) -> Counts:
        log = self.run / "access.log"
        lines = log.read_text().splitlines() if log.exists() else []
        connections = set()
        resumed = set()
        statuses: Counter[str] = Counter()
        protocols: Counter[str] = Counter()
        projects = set()
        sent = 0
        for line in lines:
            connection, _n, status, protocol, size, reused, uri = line.split(" ", 6)
            connections.add(connection)
            if reused == "r":
                resumed.add(connection)
            statuses[status] += 1
            protocols[protocol] += 1
            sent += int(size)
            if uri.startswith("/simple/") and uri.count("/") == 3:
                projects.add(uri)
        return Counts(
            len(lines),
            len(connections),
            dict(statuses),
            dict(protocols),
            len(projects),
            sent,
            len(resumed),
        )
