"""``python -m sbom_enrich``: the same as the ``sbom-enrich`` command."""

from .cli import main

raise SystemExit(main())
