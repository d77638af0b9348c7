"""docs/deploy.md's nginx TLS recipe, as printed (ports and paths replaced), in front of serve."""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
import trustme
from servicekit import serve_process

from indexserver import IndexServer
from listening import nginx_listeners, wait_for_pid

DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
TOKEN = "proxy-token-0123456789abcdef"


def recipe() -> str:
    text = DOCS.read_text()
    start = text.index("**A reverse proxy (nginx)**")
    match = re.search(r"```nginx\n(.*?)```", text[start:], re.DOTALL)
    assert match, "the nginx recipe is missing from docs/deploy.md"
    return match.group(1)


def test_the_nginx_recipe_terminates_tls_in_front_of_the_service(
    index_server: IndexServer, tmp_path: Path
) -> None:
    nginx = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
    if nginx is None:
        pytest.skip("nginx is not installed (scripts/ensure-nginx installs it)")
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "sbom-enrich.internal")
    cert, key = tmp_path / "fullchain.pem", tmp_path / "key.pem"
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    tokens = tmp_path / "tokens"
    tokens.write_text(TOKEN + "\n")
    listeners, inherit = nginx_listeners(2)  # nginx inherits them: no port left free meanwhile
    tls_port, plain_port = (sock.getsockname()[1] for sock in listeners)

    args = ["--index-url", index_server.url, "--cache-dir", str(tmp_path / "cache")]
    args += ["--rate-limit", "3"]  # token guesses are limited per client address
    # The recipe's --allowed-hosts, by its twin: nginx passes on the name it was asked by.
    env = {"SBOM_ENRICH_ALLOWED_HOSTS": "sbom-enrich.internal"}
    with serve_process([*args, "--token-file", str(tokens)], env) as service:
        service_port = service.url.rsplit(":", 1)[1]
        server = recipe()
        replacements = {
            "listen 443 ssl": f"listen 127.0.0.1:{tls_port} ssl",
            "listen 80;": f"listen 127.0.0.1:{plain_port};",
            "/etc/nginx/tls/sbom-enrich.fullchain.pem": str(cert),
            "/etc/nginx/tls/sbom-enrich.key.pem": str(key),
            "proxy_pass http://127.0.0.1:8000;": f"proxy_pass http://127.0.0.1:{service_port};",
        }
        for printed, here in replacements.items():
            assert printed in server, printed
            server = server.replace(printed, here)
        temp = "".join(
            f"{kind}_temp_path {tmp_path}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        conf = tmp_path / "nginx.conf"
        conf.write_text(
            f"daemon off;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
            f"events {{}}\nhttp {{\naccess_log off;\n{temp}{server}}}\n"
        )
        proxy = subprocess.Popen(
            [nginx, "-p", str(tmp_path), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=[sock.fileno() for sock in listeners],
            env={**os.environ, **inherit},
        )
        for sock in listeners:  # nginx has them now
            sock.close()
        try:
            wait_for_pid(proxy, tmp_path / "nginx.pid")
            base = f"https://127.0.0.1:{tls_port}"
            with httpx.Client(base_url=base, verify=trusted, timeout=30) as http:
                allowed = http.get(
                    "/v1/projects/nose", headers={"Authorization": f"Bearer {TOKEN}"}
                )
                refused = http.get("/v1/projects/nose")
                by_name = {"Authorization": f"Bearer {TOKEN}", "Host": "sbom-enrich.internal"}
                named = http.get("/v1/projects/nose", headers=by_name)
                rebound = http.get("/v1/projects/nose", headers={**by_name, "Host": "evil.example"})
                health = http.get("/healthz")
                guesses = [http.get("/v1/projects/nose") for _ in range(3)]
            # Another client address (all of 127/8 is loopback): nginx passes it on in
            # X-Forwarded-For, uvicorn trusts it from 127.0.0.1, so it has its own bucket.
            other = httpx.HTTPTransport(local_address="127.0.0.2", verify=trusted)
            with httpx.Client(base_url=base, transport=other, timeout=30) as http:
                elsewhere = http.get("/v1/projects/nose")
            redirect = httpx.get(f"http://127.0.0.1:{plain_port}/healthz", timeout=10)
        finally:
            proxy.terminate()
            proxy.wait(10)
    assert allowed.status_code == 200 and allowed.json()["status"] == "deprecated"
    assert allowed.http_version == "HTTP/1.1"  # httpx without h2 negotiates HTTP/1.1 by ALPN
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert named.status_code == 200 and named.json()["status"] == "deprecated"
    assert rebound.status_code == 421 and "evil.example" in rebound.json()["error"]
    assert health.status_code == 200
    assert 429 in [response.status_code for response in guesses]
    assert elsewhere.status_code == 401
    assert redirect.status_code == 301
    assert redirect.headers["Location"].startswith("https://")
