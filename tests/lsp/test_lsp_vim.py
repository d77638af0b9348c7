"""A real editor: Vim with ALE runs the editors/vim/README.md snippet, as printed."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexserver import IndexServer

REPO = Path(__file__).resolve().parents[2]
VIM = shutil.which("vim")
ALE = Path("/usr/share/vim/vimfiles/pack/dist-bundle/opt/ale")  # Debian's vim-ale

pytestmark = [
    pytest.mark.editor,
    pytest.mark.skipif(
        VIM is None or not ALE.exists(), reason="vim and vim-ale not installed (scripts/ensure-vim)"
    ),
]

# Polls ALE's diagnostics for the opened buffer, writes them as JSON, quits.
CHECK = """\
let s:deadline = reltimefloat(reltime()) + 30
function! s:Check(timer) abort
  let l:items = get(get(g:ale_buffer_info, bufnr(''), {{}}), 'loclist', [])
  if len(l:items) >= {expected} || reltimefloat(reltime()) > s:deadline
    call timer_stop(a:timer)
    let l:out = map(copy(l:items),
    \\ {{_, d -> {{'lnum': d.lnum, 'col': d.col, 'type': d.type, 'code': get(d, 'code', '')}}}})
    call writefile([json_encode({{'filetype': &filetype, 'items': l:out}})], {result})
    qall!
  endif
endfunction
call timer_start(100, function('s:Check'), {{'repeat': -1}})
"""


def readme_snippet() -> str:
    text = (REPO / "editors" / "vim" / "README.md").read_text(encoding="utf-8")
    return text.split("```vim\n", 1)[1].split("```", 1)[0]


def run_vim(vimrc: Path, check: Path, file: Path, env: dict[str, str]) -> None:
    """Vim in a pseudo-terminal (its event loop, timers and jobs need one), until it quits."""
    assert VIM is not None
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [VIM, "-N", "-u", str(vimrc), "-i", "NONE", "-n", str(file), "-c", f"source {check}"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        cwd=file.parent,
        env={**env, "TERM": "xterm"},
        close_fds=True,
    )
    os.close(terminal)
    deadline = time.monotonic() + 60
    try:
        while process.poll() is None and time.monotonic() < deadline:
            # Drain the screen so Vim never blocks writing it.
            if select.select([controller], [], [], 0.1)[0] and not _drain(controller):
                time.sleep(0.05)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        os.close(controller)


def _drain(controller: int) -> bool:
    """Read what Vim wrote; False once the terminal is closed."""
    try:
        return bool(os.read(controller, 65536))
    except OSError:
        return False


def test_readme_ale_snippet_shows_the_diagnostics(
    index_server: IndexServer, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    requirements = project / "requirements.txt"
    requirements.write_text("pycrypto==2.6.1\nnose==1.3.6\nrequests\n", encoding="utf-8")
    vimrc = tmp_path / "vimrc"
    vimrc.write_text(readme_snippet(), encoding="utf-8")
    result = tmp_path / "result.json"
    check = tmp_path / "check.vim"
    check.write_text(CHECK.format(expected=3, result=json.dumps(str(result))), encoding="utf-8")
    env = {
        **os.environ,
        # The snippet runs `sbom-enrich-lsp` from PATH; index and cache come from the env twins.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "SBOM_ENRICH_INDEX_URL": index_server.url,
        "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache"),
        "HOME": str(tmp_path),
    }
    run_vim(vimrc, check, requirements, env)
    assert result.exists(), "Vim wrote no result"
    out = json.loads(result.read_text(encoding="utf-8"))
    assert out["filetype"] == "requirements"
    # The snippet's initialization_options make archived an error; the others stay warnings.
    assert sorted((d["lnum"], d["col"], d["type"], d["code"]) for d in out["items"]) == [
        (1, 1, "E", "sbom-enrich/archived"),
        (2, 1, "W", "sbom-enrich/deprecated"),
        (2, 7, "W", "sbom-enrich/yanked"),
    ]
