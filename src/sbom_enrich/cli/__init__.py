"""The ``sbom-enrich`` command line: the composition root that builds the concrete objects.

One module per command (``enrich``, ``check``, ``status``, ``cache``, ``serve``,
``monitor``), each with ``add_parser(commands)`` and ``run(args, invocation) -> exit code``;
``options.py`` resolves the shared flags (flag → env twin → policy file → default) from two
tables; ``entry.py`` builds the parser from the command table and holds :func:`main`.
"""

from .entry import COMMANDS, build_parser, main
from .options import ENV_TWINS

__all__ = ["COMMANDS", "ENV_TWINS", "build_parser", "main"]
