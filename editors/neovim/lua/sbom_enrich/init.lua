-- sbom-enrich language server for Neovim 0.7+: PEP 792 project status in requirements files
-- and pyproject.toml. Usage: require("sbom_enrich").setup({ settings = { ... } })
local M = {}

M.name = "sbom-enrich"

local defaults = {
  -- The server command; `python -m lsp` works too (e.g. { "/path/to/venv/bin/python", "-m", "lsp" }).
  cmd = { "sbom-enrich-lsp" },
  -- Sent as initializationOptions and on workspace/didChangeConfiguration (see docs/lsp.md):
  -- indexUrl, cacheDir, offline, severity = { archived = "error", ... }, ignore = { "name" }.
  settings = {},
  -- Files whose nearest ancestor holding one of these is the workspace root.
  root_markers = { "pyproject.toml", "setup.cfg", "setup.py", ".git" },
  on_attach = nil,
  capabilities = nil,
}

M.options = vim.deepcopy(defaults)

-- Same rule as the server's manifest_kind(): requirements*.txt, requirements/*.txt, *.in,
-- constraints*.txt and pyproject.toml, case-insensitively.
function M.is_manifest(path)
  if path == nil or path == "" then
    return false
  end
  path = path:gsub("\\", "/")
  local name = (path:match("([^/]+)$") or ""):lower()
  local parent = (path:match("([^/]+)/[^/]+$") or ""):lower()
  if name == "pyproject.toml" then
    return true
  end
  -- Lock files (the server's is_lock_file()).
  if name == "uv.lock" or name == "poetry.lock" or name == "pdm.lock" or name == "pipfile.lock" then
    return true
  end
  if name == "pylock.toml" or name:match("^pylock%.[^.]+%.toml$") then
    return true
  end
  if name:match("%.in$") then
    return true
  end
  if name:match("%.txt$") then
    return name:match("^requirements") ~= nil
      or name:match("^constraints") ~= nil
      or parent == "requirements"
  end
  return false
end

local function root_dir(path)
  local dir = vim.fn.fnamemodify(path, ":p:h")
  while dir ~= nil and dir ~= "" do
    for _, marker in ipairs(M.options.root_markers) do
      if (vim.uv or vim.loop).fs_stat(dir .. "/" .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ":h")
    if parent == dir then
      break
    end
    dir = parent
  end
  return vim.fn.getcwd()
end

local function client_config(path)
  local opts = M.options
  local config = {
    name = M.name,
    cmd = opts.cmd,
    root_dir = root_dir(path),
    init_options = opts.settings,
    -- Neovim sends this with workspace/didChangeConfiguration after start-up.
    settings = { sbomEnrich = opts.settings },
    on_attach = opts.on_attach,
    capabilities = opts.capabilities,
  }
  if vim.lsp.start == nil then
    -- 0.7 wants a non-nil capabilities table.
    config.capabilities = config.capabilities or vim.lsp.protocol.make_client_capabilities()
  end
  return config
end

-- Neovim 0.7 has no vim.lsp.start: keep one client per root directory ourselves.
local legacy_clients = {}

local function attach_legacy(bufnr, config)
  local id = legacy_clients[config.root_dir]
  local client = id and vim.lsp.get_client_by_id(id)
  if client == nil or client.is_stopped() then
    id = vim.lsp.start_client(config)
    if id == nil then
      vim.notify("sbom-enrich: could not start " .. table.concat(config.cmd, " "), vim.log.levels.WARN)
      return nil
    end
    legacy_clients[config.root_dir] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

--- Attach the sbom-enrich server to a buffer (no-op unless the buffer is a manifest).
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local path = vim.api.nvim_buf_get_name(bufnr)
  if not M.is_manifest(path) or vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  local config = client_config(path)
  if vim.lsp.start ~= nil then
    -- 0.8+: reuses a running client with the same name and root_dir.
    return vim.lsp.start(config, { bufnr = bufnr })
  end
  return attach_legacy(bufnr, config)
end

function M.setup(opts)
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  local group = vim.api.nvim_create_augroup("sbom_enrich_lsp", { clear = true })
  vim.api.nvim_create_autocmd({ "BufReadPost", "BufNewFile", "FileType" }, {
    group = group,
    pattern = "*",
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  -- Buffers opened before setup() ran.
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      M.attach(bufnr)
    end
  end
end

return M
