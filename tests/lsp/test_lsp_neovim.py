"""A real editor: headless Neovim loads the shipped editors/neovim setup and talks to the server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indexserver import IndexServer

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "editors" / "neovim"

pytestmark = [
    pytest.mark.editor,
    pytest.mark.skipif(
        shutil.which("nvim") is None, reason="nvim not installed (scripts/ensure-neovim)"
    ),
]

REQUIREMENTS = "pycrypto==2.6.1\nnose==1.3.6\nrequests\n"
# Non-ASCII text before the name on its line: the server counts UTF-16, Neovim bytes.
PYPROJECT = """\
[project]
name = "demo"
version = "1"
dependencies = ["requests ; python_version > 'é𝄞'", "evil-pkg"]
"""

INIT = """\
vim.opt.runtimepath:prepend({plugin})
require("sbom_enrich").setup({{
  cmd = {{ {python}, "-m", "lsp" }},
  settings = {{ indexUrl = {index}, cacheDir = {cache} }},
}})
"""

SCRIPT = """\
local out = {{}}
local function collect(path, expected)
  vim.cmd("edit " .. vim.fn.fnameescape(path))
  local buf = vim.api.nvim_get_current_buf()
  vim.wait(30000, function() return #vim.diagnostic.get(buf) >= expected end, 50)
  local items = {{}}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    local lsp = (d.user_data or {{}}).lsp or {{}}
    table.insert(items, {{
      lnum = d.lnum, col = d.col, end_col = d.end_col, severity = d.severity,
      message = d.message, source = d.source, code = lsp.code or d.code,
    }})
  end
  return buf, items
end
local buf, items = collect({requirements}, 3)
out.requirements = items
local hover = vim.lsp.buf_request_sync(buf, "textDocument/hover", {{
  textDocument = {{ uri = vim.uri_from_bufnr(buf) }},
  position = {{ line = 0, character = 3 }},
}}, 10000) or {{}}
for _, response in pairs(hover) do
  if response.result then out.hover = response.result.contents.value end
end
local _, pyitems = collect({pyproject}, 1)
out.pyproject = pyitems
out.clients = #vim.lsp.get_active_clients()
vim.fn.writefile({{ vim.json.encode(out) }}, {result})
vim.cmd("qa!")
"""


def lua(value: object) -> str:
    return json.dumps(str(value))  # a JSON string is a valid Lua string literal here


def test_neovim_shows_diagnostics_and_hover(index_server: IndexServer, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text(REQUIREMENTS, encoding="utf-8")
    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    result = tmp_path / "result.json"
    init = tmp_path / "init.lua"
    init.write_text(
        INIT.format(
            plugin=lua(PLUGIN),
            python=lua(sys.executable),
            index=lua(index_server.url),
            cache=lua(tmp_path / "cache"),
        ),
        encoding="utf-8",
    )
    script = tmp_path / "script.lua"
    script.write_text(
        SCRIPT.format(
            requirements=lua(project / "requirements.txt"),
            pyproject=lua(project / "pyproject.toml"),
            result=lua(result),
        ),
        encoding="utf-8",
    )
    completed = subprocess.run(
        ["nvim", "--headless", "--clean", "-u", str(init), "-c", f"luafile {script}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )
    assert result.exists(), completed.stderr + completed.stdout
    out = json.loads(result.read_text(encoding="utf-8"))

    requirements = sorted(
        (d["lnum"], d["col"], d["end_col"], d["code"]) for d in out["requirements"]
    )
    assert requirements == [
        (0, 0, 8, "sbom-enrich/archived"),
        (1, 0, 4, "sbom-enrich/deprecated"),
        (1, 6, 11, "sbom-enrich/yanked"),
    ]
    assert all(d["source"] == "sbom-enrich" for d in out["requirements"])
    assert "**archived**" in out["hover"] and "pycryptodome" in out["hover"]

    line = PYPROJECT.splitlines()[3]
    byte_col = len(line[: line.index("evil-pkg")].encode("utf-8"))
    ((lnum, col, end_col, code, severity),) = [
        (d["lnum"], d["col"], d["end_col"], d["code"], d["severity"]) for d in out["pyproject"]
    ]
    assert (lnum, col, end_col, code) == (3, byte_col, byte_col + 8, "sbom-enrich/quarantined")
    assert severity == 1  # vim.diagnostic.severity.ERROR
    assert out["clients"] == 1  # one server for both files (same root)
