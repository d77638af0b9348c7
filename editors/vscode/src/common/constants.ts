// Names and file patterns the extension registers with VS Code.
import type { DocumentFilter } from 'vscode-languageclient';

export const SERVER_ID = 'sbomEnrich';
export const SERVER_NAME = 'sbom-enrich';
export const RESTART_COMMAND = 'sbomEnrich.restart';
export const SHOW_LOG_COMMAND = 'sbomEnrich.showLog';
export const PYTHON_EXTENSION_ID = 'ms-python.python';

/**
 * The files the server reads, by path: VS Code has no built-in TOML or requirements language, so
 * language ids would miss them. `*.in` is limited to pip-tools' names so `MANIFEST.in`,
 * `Makefile.in` and `configure.in` are not parsed as requirements.
 */
export const FILE_PATTERNS: readonly string[] = [
    '**/requirements*.txt',
    '**/requirements/*.txt',
    '**/constraints*.txt',
    '**/*requirements*.in',
    '**/requirements/*.in',
    '**/constraints*.in',
    '**/pyproject.toml',
    // Lock files: each locked package is diagnosed where its name is written.
    '**/uv.lock',
    '**/poetry.lock',
    '**/pdm.lock',
    '**/pylock.toml',
    '**/pylock.*.toml',
];

export const DOCUMENT_SELECTOR: DocumentFilter[] = FILE_PATTERNS.map((pattern) => ({
    scheme: 'file',
    pattern,
}));
