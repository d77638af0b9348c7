"""The service's OpenAPI 3.1 document (the contract schemathesis checks) and its /docs page."""

from __future__ import annotations

import html
import json
from typing import Any

from .. import PROJECT_URL, __version__
from ..enrich.run import index_policy
from ..findings.kinds import FAIL_ON_WORDS
from ..status.maintenance import Maintenance
from ..status.model import ProjectStatus
from ..status.repository.model import RepoState
from ..status.repository.urls import Forge
from ..status.urls import redact_url
from .access import checks_host
from .config import ServiceSettings
from .protocol import MAX_NAME_LENGTH, MAX_VERSION_LENGTH, NAME_PATTERN, SBOM_MEDIA_TYPES

_NULLABLE_STRING = {"type": ["string", "null"]}
_MAINTENANCE_NOTE = (
    " When the service runs with --maintenance, the answer also has `maintenance`: the "
    "repository's state and the release age as a verdict with its evidence, apart from "
    "`status`; each repository the request asks a forge about then costs one more "
    "rate-limit unit (none when the answer was cached or no repository was found)."
)


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _schemas(max_batch: int, allowed_indexes: list[str]) -> dict[str, Any]:
    statuses = [s.value for s in ProjectStatus]
    alternative = {
        "type": "object",
        "required": ["name", "rationale", "stdlib"],
        "properties": {
            "name": {"type": "string"},
            "rationale": {"type": "string"},
            "stdlib": {"type": "boolean"},
            "source": {
                "type": "string",
                "enum": ["catalog", "maintainers"],
                "description": "the curated catalog, or the project's own maintainers "
                "(their last description; with --maintenance)",
            },
        },
    }
    repository = {
        "type": ["object", "null"],
        "description": "what the forge said (null: no repository found)",
        "required": ["url", "forge", "state", "checked_at"],
        "properties": {
            "url": {"type": "string", "description": "normalised repository URL"},
            "forge": {"type": "string", "enum": [f.value for f in Forge]},
            "state": {"type": "string", "enum": [s.value for s in RepoState]},
            "checked_at": {"type": "string", "format": "date-time"},
            "archived": {"type": ["boolean", "null"]},
            "last_commit": {"type": ["string", "null"], "format": "date-time"},
            "moved_to": {**_NULLABLE_STRING, "description": "the new URL after a rename"},
            "error": {**_NULLABLE_STRING, "description": "why the state is unknown"},
        },
    }
    maintenance = {
        "type": "object",
        "description": "The second signal (only when the service runs with --maintenance): "
        "the source repository's state and the release age. Never mixed into `status`, "
        "which stays the index's. See docs/maintenance.md.",
        "required": ["verdict", "evidence", "repository", "recommended"],
        "properties": {
            "verdict": {"type": "string", "enum": [m.value for m in Maintenance]},
            "evidence": {
                "type": "array",
                "items": {"type": "string"},
                "description": "plain-words reasons: dates, the repository, a rename",
            },
            "repository": repository,
            "recommended": {
                "type": "array",
                "items": {"type": "string"},
                "description": "projects the maintainers' own last description recommends, "
                "each active on the index",
            },
        },
    }
    record = {
        "type": "object",
        "required": ["requested", "name", "status", "index", "checked_at", "from_cache"],
        "properties": {
            "requested": {"type": "string", "description": "the name as asked"},
            "name": {"type": "string", "description": "PEP 503 normalized name"},
            "status": {"type": "string", "enum": statuses},
            "reason": {**_NULLABLE_STRING, "description": "the index's reason, sanitized"},
            "index": {"type": "string", "description": "index URL, credentials removed"},
            "checked_at": {"type": "string", "format": "date-time"},
            "api_version": _NULLABLE_STRING,
            "versions": {"type": ["array", "null"], "items": {"type": "string"}},
            "yanked": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "yanked version → reason ('' when none given)",
            },
            "latest_version": _NULLABLE_STRING,
            "latest_upload": {"type": ["string", "null"], "format": "date-time"},
            "error": {
                **_NULLABLE_STRING,
                "description": "why the lookup failed (status is then unknown)",
            },
            "from_cache": {"type": "boolean"},
            "stale": {"type": "boolean"},
            "alternatives": {"type": "array", "items": alternative},
            "maintenance": {"$ref": "#/components/schemas/Maintenance"},
            "version": {
                "type": "object",
                "description": "facts about the version asked for with ?version=",
                "properties": {
                    "version": {"type": "string"},
                    "yanked": {
                        "type": ["boolean", "null"],
                        "description": "null when the index listed no versions (a failed "
                        "lookup, not-found): nothing is known of this one",
                    },
                    "yank_reason": _NULLABLE_STRING,
                    "missing": {
                        "type": ["boolean", "null"],
                        "description": "not listed by the index; null as for yanked",
                    },
                },
            },
        },
    }
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string", "description": "one line"}},
        },
        "Record": record,
        "Maintenance": maintenance,
        "BatchRequest": {
            "type": "object",
            "required": ["names"],
            # Any other field (an "allow_index", a misspelt "indexes") is a 422, not ignored.
            "additionalProperties": False,
            "properties": {
                "names": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": max_batch,
                    "items": {
                        "type": "string",
                        "maxLength": MAX_NAME_LENGTH,
                        "pattern": NAME_PATTERN,
                    },
                },
                "index": {
                    "type": "string",
                    "enum": allowed_indexes,
                    "description": "an allowed index (default: the service's index)",
                },
            },
        },
        "BatchResponse": {
            "type": "object",
            "required": ["records"],
            "properties": {
                "records": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}}
            },
        },
        "CycloneDxJson": {
            "type": "object",
            "required": ["bomFormat", "specVersion"],
            "description": "a CycloneDX 1.3-1.7 JSON document",
            "properties": {
                "bomFormat": {"const": "CycloneDX"},
                "specVersion": {"type": "string", "enum": ["1.3", "1.4", "1.5", "1.6", "1.7"]},
                "version": {"type": "integer", "minimum": 1},
                "components": {"type": "array", "items": {"type": "object"}},
            },
        },
        "CycloneDxXml": {
            "type": "object",
            "description": "a CycloneDX 1.3-1.7 XML document (no DTD, no entities); the spec "
            "version is the namespace's (1.6 shown)",
            "xml": {"name": "bom", "namespace": "http://cyclonedx.org/schema/bom/1.6"},
            "properties": {
                "version": {"type": "integer", "minimum": 1, "xml": {"attribute": True}},
            },
        },
        "Report": {
            "type": "object",
            "description": "the summary `sbom-enrich enrich --summary-json` writes",
            "required": ["counts", "exit_code", "components"],
            "properties": {
                "index": {"type": "string"},
                "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
                "fail_on": {"type": "array", "items": {"type": "string"}},
                "violations": {"type": "array", "items": {"type": "object"}},
                "incomplete": {"type": "boolean"},
                "exit_code": {"type": "integer", "enum": [0, 1, 3]},
                "components": {"type": "array", "items": {"type": "object"}},
            },
        },
        "Health": {
            "type": "object",
            "required": ["status", "version", "cache"],
            "properties": {
                "status": {"const": "ok"},
                "version": {"type": "string"},
                "cache": {
                    "type": "object",
                    "properties": {
                        "backend": {"type": "string", "enum": ["disk", "redis", "none"]},
                        "usable": {"type": "boolean"},
                    },
                },
                "maintenance": {
                    "type": "boolean",
                    "description": "whether answers carry maintenance verdicts (--maintenance)",
                },
            },
        },
    }


def openapi_document(settings: ServiceSettings) -> dict[str, Any]:
    """The OpenAPI 3.1 description of this service (limits filled in from ``settings``)."""
    verdict_headers = {
        "X-Sbom-Enrich-Verdict": {
            "description": "policy verdict",
            "schema": {"type": "string", "enum": ["passed", "failed", "incomplete"]},
        },
        "X-Sbom-Enrich-Exit-Code": {
            "description": "what `sbom-enrich enrich` would exit with: 0, 1 or 3",
            "schema": {"type": "string", "enum": ["0", "1", "3"]},
        },
        "X-Sbom-Enrich-Counts": {
            "description": "RFC 8941 dictionary: components per status, plus yanked, "
            "version-missing, skipped, components, projects",
            "schema": {"type": "string"},
        },
    }
    sbom_bodies: dict[str, Any] = {}
    for media, fmt in SBOM_MEDIA_TYPES.items():
        schema = (
            {"$ref": "#/components/schemas/CycloneDxJson"}
            if fmt == "json"
            else {"$ref": "#/components/schemas/CycloneDxXml"}
        )
        sbom_bodies[media] = {"schema": schema}
    enrich_responses: dict[str, Any] = {
        media: {"schema": {"type": "object"} if fmt == "json" else {"type": "string"}}
        for media, fmt in SBOM_MEDIA_TYPES.items()
    }
    enrich_responses["application/json"] = {
        "schema": {
            "description": "the enriched SBOM, or the Report with ?format=report",
            "type": "object",
        }
    }
    fail_on_text = ", ".join(FAIL_ON_WORDS)
    word = "(" + "|".join(FAIL_ON_WORDS) + ")"
    fail_on_pattern = f"^(none|{word}(,{word})*)$"
    allowed = sorted(redact_url(url) for url in index_policy(settings.client)[1])
    index_param = {
        "name": "index",
        "in": "query",
        "required": False,
        "description": "an allowed index to ask instead of the service's default",
        "schema": {"type": "string", "enum": allowed},
    }
    timeout = f"{settings.request_timeout:g}"
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "sbom-enrich",
            "version": __version__,
            "description": (
                "PEP 792 project status (archived, deprecated, quarantined, not-found) from "
                "Python package indexes, written into CycloneDX SBOMs. Lookups are shared and "
                f"cached across requests. Requests time out after {timeout} s (504). "
                f"Docs: {PROJECT_URL}"
            ),
        },
        "paths": {
            "/v1/enrich": {
                "post": {
                    "operationId": "enrich",
                    "summary": "Enrich a CycloneDX SBOM with project status properties",
                    "description": (
                        "Returns the enriched SBOM in the request's format and spec version "
                        "(lossless; properties as in `sbom-enrich enrich`), with the policy "
                        "verdict in headers. A failed policy is still a 200: read "
                        f"`X-Sbom-Enrich-Verdict`. Body limit {settings.max_body} bytes."
                    ),
                    "parameters": [
                        {
                            "name": "fail_on",
                            "in": "query",
                            "required": False,
                            "description": f"comma list of {fail_on_text}; or none",
                            "schema": {"type": "string", "pattern": fail_on_pattern},
                        },
                        {
                            "name": "signatures",
                            "in": "query",
                            "required": False,
                            "description": "a signed SBOM (JSF or XML Signature): refuse it "
                            "(422, the default), strip the signatures, or keep them (they no "
                            "longer verify)",
                            "schema": {"type": "string", "enum": ["refuse", "strip", "keep"]},
                        },
                        {
                            "name": "allow_incomplete",
                            "in": "query",
                            "required": False,
                            "description": "verdict passed instead of incomplete when lookups "
                            "failed",
                            "schema": {"type": "boolean"},
                        },
                        {
                            "name": "format",
                            "in": "query",
                            "required": False,
                            "description": "sbom (default) or report: the JSON summary instead",
                            "schema": {"type": "string", "enum": ["sbom", "report"]},
                        },
                    ],
                    "requestBody": {"required": True, "content": sbom_bodies},
                    "responses": {
                        "200": {
                            "description": "enriched SBOM (or report)",
                            "headers": verdict_headers,
                            "content": enrich_responses,
                        },
                        "400": _error("not JSON/XML, not CycloneDX, unsafe XML, type mismatch"),
                        "408": _error("the body did not arrive within the request timeout"),
                        "413": _error("body over the limit"),
                        "415": _error(
                            "Content-Type is not a CycloneDX type, or a Content-Encoding is sent"
                        ),
                        "422": _error("bad query value, or unsupported spec version"),
                        "504": _error("not finished within the request timeout"),
                    },
                }
            },
            "/v1/projects/{name}": {
                "get": {
                    "operationId": "getProject",
                    "summary": "What the index says about one project",
                    "description": "A failed lookup is a 200 with status unknown and `error`."
                    + _MAINTENANCE_NOTE,
                    "parameters": [
                        {
                            "name": "name",
                            "in": "path",
                            "required": True,
                            "schema": {
                                "type": "string",
                                "maxLength": MAX_NAME_LENGTH,
                                "pattern": NAME_PATTERN,
                            },
                        },
                        {
                            "name": "version",
                            "in": "query",
                            "required": False,
                            "description": "also report whether this version is yanked/missing",
                            "schema": {"type": "string", "maxLength": MAX_VERSION_LENGTH},
                        },
                        index_param,
                    ],
                    "responses": {
                        "200": {
                            "description": "the status record",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Record"}
                                }
                            },
                        },
                        "404": _error("no route (a name with '/' in it)"),
                        "422": _error(
                            "not a valid project name, a version too long, or index not allowed"
                        ),
                        "504": _error("not finished within the request timeout"),
                    },
                }
            },
            "/v1/projects:batch": {
                "post": {
                    "operationId": "getProjects",
                    "summary": "Status records for many projects (each looked up once)",
                    "description": "GitHub repositories are asked 100 per GraphQL request."
                    + _MAINTENANCE_NOTE,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/BatchRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "one record per name, in the order asked",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/BatchResponse"}
                                }
                            },
                        },
                        "400": _error("not JSON"),
                        "408": _error("the body did not arrive within the request timeout"),
                        "413": _error("body over the limit"),
                        "415": _error(
                            "not application/json, or a Content-Encoding is sent (send the "
                            "body uncompressed)"
                        ),
                        "422": _error("not the expected shape, a bad name, or index not allowed"),
                        "504": _error("not finished within the request timeout"),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "Liveness: 200 while the process serves (cache state included)",
                    "responses": {
                        "200": {
                            "description": "serving",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Health"}
                                }
                            },
                        }
                    },
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus metrics of this process",
                    "responses": {
                        "200": {
                            "description": "Prometheus text format 0.0.4",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
        "components": {"schemas": _schemas(settings.max_batch, allowed)},
    }
    _add_access(document, settings)
    return document


def _add_access(document: dict[str, Any], settings: ServiceSettings) -> None:
    """The Host check, rate limits, and bearer authentication (``--token-file``), on all but
    the open paths."""
    if checks_host(settings.host, settings.allowed_hosts):
        for path, operations in document["paths"].items():
            if path != "/healthz":
                for operation in operations.values():
                    operation["responses"]["421"] = _error(
                        "the Host header is not localhost, a loopback address or an allowed host"
                    )
    if settings.rate_limit:
        for path, operations in document["paths"].items():
            if path not in {"/healthz", "/metrics"}:
                for operation in operations.values():
                    operation["responses"]["429"] = {
                        **_error("the caller's rate limit is reached: wait Retry-After seconds"),
                        "headers": {"Retry-After": {"schema": {"type": "string"}}},
                    }
    if settings.token_file is None:
        return
    document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    document["security"] = [{"bearer": []}]
    open_paths = {"/healthz"} if settings.metrics_auth else {"/healthz", "/metrics"}
    for path, operations in document["paths"].items():
        for operation in operations.values():
            if path in open_paths:
                operation["security"] = []
            else:
                operation["responses"]["401"] = _error("no valid Authorization: Bearer token")


def docs_page(document: dict[str, Any]) -> str:
    """A self-contained HTML page describing every operation (no scripts, works offline)."""
    esc = html.escape
    info = document["info"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(info['title'])} API</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
        "padding:0 1rem}code,pre{background:#f4f4f4;padding:0 .2rem}"
        "h2{border-top:1px solid #ddd;padding-top:1rem}td{padding:.1rem .6rem;"
        "vertical-align:top}</style></head><body>",
        f"<h1>{esc(info['title'])} {esc(info['version'])}</h1>",
        f"<p>{esc(info['description'])}</p>",
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a> (OpenAPI 3.1).</p>",
    ]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            parts.append(f"<h2><code>{esc(method.upper())} {esc(path)}</code></h2>")
            parts.append(f"<p><strong>{esc(operation.get('summary', ''))}</strong></p>")
            if operation.get("description"):
                parts.append(f"<p>{esc(operation['description'])}</p>")
            parameters = operation.get("parameters", [])
            if parameters:
                parts.append("<table><tr><th>parameter</th><th>in</th><th>meaning</th></tr>")
                parts.extend(
                    f"<tr><td><code>{esc(parameter['name'])}</code></td>"
                    f"<td>{esc(parameter['in'])}</td>"
                    f"<td>{esc(parameter.get('description', ''))}</td></tr>"
                    for parameter in parameters
                )
                parts.append("</table>")
            body = operation.get("requestBody")
            if body:
                types = ", ".join(f"<code>{esc(t)}</code>" for t in body["content"])
                parts.append(f"<p>Body: {types}</p>")
            parts.append("<ul>")
            for code, response in operation["responses"].items():
                parts.append(f"<li><code>{esc(code)}</code> {esc(response['description'])}</li>")
            parts.append("</ul>")
    schemas = json.dumps(document["components"]["schemas"], indent=2)
    parts.append(f"<h2>Schemas</h2><pre>{esc(schemas)}</pre></body></html>")
    return "".join(parts)
