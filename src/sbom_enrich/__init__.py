"""sbom-enrich: reads PEP 792 project status markers from Python package indexes."""

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/sbom-enrich/sbom-enrich"
