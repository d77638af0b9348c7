"""The HTTP enrichment service (``sbom-enrich serve``): a Starlette app run by uvicorn."""
