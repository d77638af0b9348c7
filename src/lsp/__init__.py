"""sbom-enrich language server: PEP 792 project status in requirements and pyproject files."""
