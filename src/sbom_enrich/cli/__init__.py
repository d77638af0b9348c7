"""The ``sbom-enrich`` command line: the composition root that builds the concrete objects.

One module per command (``enrich``, ``check``, ``status``, ``cache``, ``serve``,
``monitor``), each with ``add_parser(commands)`` and ``run(args, invocation) -> exit code``;
``options.py`` resolves the shared flags (flag → env twin → policy file → default) from two
tables; ``entry.py`` builds the parser from the command table and holds :func:`main`.
"""

from .._collector import import_done as _import_done
from .._collector import import_paused as _import_paused
from .interrupts import hold_interrupts as _hold_interrupts
from .interrupts import started_as_the_program as _started_as_the_program

# Ctrl-C while the command line is imported: noted, and raised once main() can answer it with
# exit 130 (a KeyboardInterrupt here would end the process killed by SIGINT; interrupts.py).
if _started_as_the_program():
    _hold_interrupts()

# The collector off for the import (_collector.py says why); a process started as
# sbom-enrich for a one-shot command then freezes what it made, and the collector is on again
# as the caller had it.
_collecting = _import_paused()
try:
    from .entry import COMMANDS, build_parser, main
    from .entry import started_for_one_run as _started_for_one_run
    from .options import ENV_TWINS
except BaseException:
    _import_done(_collecting, freeze=False)
    raise
_import_done(_collecting, freeze=_started_for_one_run())

__all__ = ["COMMANDS", "ENV_TWINS", "build_parser", "main"]
