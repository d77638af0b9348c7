"""The ``sbom-enrich`` command line: the composition root that builds the concrete objects.

One module per command (``enrich``, ``check``, ``status``, ``cache``, ``serve``,
``monitor``), each with ``add_parser(commands)`` and ``run(args, invocation) -> exit code``;
``options.py`` resolves the shared flags (flag → env twin → policy file → default) from two
tables; ``entry.py`` builds the parser from the command table and holds :func:`main`.
"""

import gc

from .interrupts import hold_interrupts as _hold_interrupts
from .interrupts import started_as_the_program as _started_as_the_program

# Ctrl-C while the command line is imported: noted, and raised once main() can answer it with
# exit 130 (a KeyboardInterrupt here would end the process killed by SIGINT; interrupts.py).
if _started_as_the_program():
    _hold_interrupts()

# The import allocates ~50,000 objects; with the collector on, ~35 young collections walk
# them (~6 ms of every start, before any work). It is off for the import; a process started
# as sbom-enrich for a one-shot command then freezes them (what main() does for such a run
# anyway, only later), and the collector is on again as the caller had it.
_collecting = gc.isenabled()
gc.disable()
try:
    from .entry import COMMANDS, build_parser, main
    from .entry import started_for_one_run as _started_for_one_run
    from .options import ENV_TWINS
except BaseException:
    if _collecting:
        gc.enable()
    raise
if _collecting:
    if _started_for_one_run():
        gc.freeze()
    gc.enable()

__all__ = ["COMMANDS", "ENV_TWINS", "build_parser", "main"]
