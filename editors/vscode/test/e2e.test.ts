// End to end: the real server (`python -m lsp`) driven by vscode-languageserver-protocol, the
// library VS Code's client is built on, the way VS Code drives it: VS Code's client
// capabilities, initializationOptions from this extension's settings mapping, a pyproject.toml
// opened, the diagnostics checked; against the project's test index (tests/indexserver.py).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type {
    ClientCapabilities,
    CodeAction,
    Command,
    Diagnostic,
    DocumentDiagnosticReport,
    Hover,
    InitializeResult,
    MarkupContent,
    ProtocolConnection,
    PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import {
    CodeActionRequest,
    ConfigurationRequest,
    createProtocolConnection,
    DiagnosticRefreshRequest,
    DiagnosticSeverity,
    DiagnosticTag,
    DidChangeConfigurationNotification,
    DidOpenTextDocumentNotification,
    DocumentDiagnosticRequest,
    ExitNotification,
    HoverRequest,
    InitializedNotification,
    InitializeRequest,
    LogMessageNotification,
    PublishDiagnosticsNotification,
    RegistrationRequest,
    ShowMessageNotification,
    ShutdownRequest,
    StreamMessageReader,
    StreamMessageWriter,
    WorkDoneProgressCreateRequest,
} from 'vscode-languageserver-protocol/node';
import { serverArguments } from '../src/common/interpreter';
import type { RawSettings, ServerSettings } from '../src/common/settings';
import { SECTION, toDidChangeConfigurationParams, toServerSettings } from '../src/common/settings';

const REPO = resolve(__dirname, '..', '..', '..', '..'); // out/test → editors/vscode → repo
const PYTHON = process.env.SBOM_ENRICH_TEST_PYTHON ?? 'python';
// Generous bounds for a loaded 2-core machine (the LSP tests' waits needed over 10 s there);
// they end a hung run, they measure nothing.
const TIMEOUT_MS = 60_000;

/**
 * What vscode-languageclient 9 (VS Code ≥ 1.82) advertises, trimmed to the parts this server
 * can see. `pull` adds textDocument.diagnostic, as the real client does.
 */
function vscodeCapabilities(pull: boolean): ClientCapabilities {
    const capabilities: ClientCapabilities = {
        general: {
            positionEncodings: ['utf-16'],
            regularExpressions: { engine: 'ECMAScript', version: 'ES2020' },
            markdown: { parser: 'marked', version: '1.1.0' },
            staleRequestSupport: {
                cancel: true,
                retryOnContentModified: [
                    'textDocument/semanticTokens/full',
                    'textDocument/semanticTokens/range',
                    'textDocument/semanticTokens/full/delta',
                ],
            },
        },
        window: {
            workDoneProgress: true,
            showMessage: { messageActionItem: { additionalPropertiesSupport: true } },
            showDocument: { support: true },
        },
        workspace: {
            applyEdit: true,
            workspaceEdit: {
                documentChanges: true,
                resourceOperations: ['create', 'rename', 'delete'],
                failureHandling: 'textOnlyTransactional',
                normalizesLineEndings: true,
                changeAnnotationSupport: { groupsOnLabel: true },
            },
            configuration: true,
            didChangeConfiguration: { dynamicRegistration: true },
            didChangeWatchedFiles: { dynamicRegistration: true, relativePatternSupport: true },
            workspaceFolders: true,
            executeCommand: { dynamicRegistration: true },
            ...(pull ? { diagnostics: { refreshSupport: true } } : {}),
        },
        textDocument: {
            synchronization: { dynamicRegistration: true, willSave: true, willSaveWaitUntil: true, didSave: true },
            publishDiagnostics: {
                relatedInformation: true,
                versionSupport: false,
                tagSupport: { valueSet: [DiagnosticTag.Unnecessary, DiagnosticTag.Deprecated] },
                codeDescriptionSupport: true,
                dataSupport: true,
            },
            hover: { dynamicRegistration: true, contentFormat: ['markdown', 'plaintext'] },
            codeAction: {
                dynamicRegistration: true,
                isPreferredSupport: true,
                disabledSupport: true,
                dataSupport: true,
                resolveSupport: { properties: ['edit'] },
                codeActionLiteralSupport: {
                    codeActionKind: {
                        valueSet: [
                            '',
                            'quickfix',
                            'refactor',
                            'refactor.extract',
                            'refactor.inline',
                            'refactor.rewrite',
                            'source',
                            'source.organizeImports',
                        ],
                    },
                },
                honorsChangeAnnotations: false,
            },
            ...(pull ? { diagnostic: { dynamicRegistration: true, relatedDocumentSupport: false } } : {}),
        },
    };
    return capabilities;
}

/** A package index on 127.0.0.1 with the project's test set (tests/indexserver.py). */
async function startIndex(): Promise<{ url: string; process: ChildProcess }> {
    const child = spawn(PYTHON, [join(REPO, 'tests', 'indexserver.py'), '--port', '0'], {
        stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout });
    const url = await new Promise<string>((resolveUrl, reject) => {
        const timer = setTimeout(() => reject(new Error('tests/indexserver.py printed no URL')), TIMEOUT_MS);
        child.once('exit', (code) => reject(new Error(`tests/indexserver.py exited with ${code}`)));
        lines.once('line', (line) => {
            clearTimeout(timer);
            resolveUrl(line.trim());
        });
    });
    return { url, process: child };
}

interface Session {
    connection: ProtocolConnection;
    server: ChildProcess;
    initializeResult: InitializeResult;
    published: PublishDiagnosticsParams[];
    shown: string[];
    logged: string[];
    refreshes: number;
    settings: ServerSettings;
    stderr: string[];
}

/** Start `python -m lsp` as the extension does and initialize it like VS Code. */
async function startSession(workspace: string, raw: RawSettings, pull: boolean): Promise<Session> {
    const settings = toServerSettings(raw, { home: tmpdir(), workspaceFolder: workspace });
    const { command, args } = serverArguments([PYTHON]);
    const env = { ...process.env };
    delete env.SBOM_ENRICH_INDEX_URL; // the setting must be what points the server at the index
    delete env.SBOM_ENRICH_CACHE_DIR;
    const server = spawn(command, args, { cwd: workspace, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const stderr: string[] = [];
    server.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const connection = createProtocolConnection(
        new StreamMessageReader(server.stdout),
        new StreamMessageWriter(server.stdin),
    );
    const session: Session = {
        connection,
        initializeResult: { capabilities: {} }, // until initialize answers
        server,
        published: [],
        shown: [],
        logged: [],
        refreshes: 0,
        settings,
        stderr,
    };
    connection.onNotification(PublishDiagnosticsNotification.type, (params) => session.published.push(params));
    connection.onNotification(ShowMessageNotification.type, (params) => session.shown.push(params.message));
    connection.onNotification(LogMessageNotification.type, (params) => session.logged.push(params.message));
    connection.onRequest(WorkDoneProgressCreateRequest.type, () => null);
    connection.onRequest(RegistrationRequest.type, () => null);
    // The extension's middleware answers section sbomEnrich with the mapped settings.
    connection.onRequest(ConfigurationRequest.type, (params) =>
        params.items.map((item) => (item.section === SECTION ? session.settings : null)),
    );
    connection.onRequest(DiagnosticRefreshRequest.type, () => {
        session.refreshes += 1;
        return null;
    });
    connection.listen();

    const rootUri = pathToFileURL(workspace).href;
    session.initializeResult = await connection.sendRequest(InitializeRequest.type, {
        processId: process.pid,
        clientInfo: { name: 'Visual Studio Code', version: '1.95.3' },
        locale: 'en',
        rootPath: workspace,
        rootUri,
        capabilities: vscodeCapabilities(pull),
        initializationOptions: settings,
        trace: 'off',
        workspaceFolders: [{ uri: rootUri, name: 'workspace' }],
    });
    await connection.sendNotification(InitializedNotification.type, {});
    // Sent once at start by the client (synchronize.configurationSection), through the middleware.
    await connection.sendNotification(DidChangeConfigurationNotification.type, toDidChangeConfigurationParams(settings));
    return session;
}

async function stopSession(session: Session): Promise<void> {
    const exited = new Promise<void>((done) => session.server.once('exit', () => done()));
    try {
        await session.connection.sendRequest(ShutdownRequest.type);
        await session.connection.sendNotification(ExitNotification.type);
    } catch {
        // A broken server is reported by the assertions, not here.
    }
    const timer = setTimeout(() => session.server.kill(), 5_000);
    await exited;
    clearTimeout(timer);
    session.connection.dispose();
}

async function waitFor<T>(
    what: string,
    probe: () => T | undefined | Promise<T | undefined>,
    session?: Session,
    detail: () => string = () => '',
): Promise<T> {
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
        const value = await probe();
        if (value !== undefined) {
            return value;
        }
        if (Date.now() > deadline) {
            const log = session ? `\nserver stderr:\n${session.stderr.join('')}` : '';
            throw new Error(`timed out waiting for ${what}: ${detail()}${log}`);
        }
        await new Promise((wake) => setTimeout(wake, 50));
    }
}

// A pyproject.toml with one dependency per status of the test index. The 🐍 extra puts a
// character of two UTF-16 code units before a name: ranges must be in UTF-16 (VS Code's).
const PYPROJECT = `[project]
name = "demo"
version = "0.1.0"
dependencies = [
    "requests==2.32.0",  # active; 2.32.0 is yanked
    "pycrypto>=2.6",  # archived
    "nose",  # deprecated, with a reason
    "no-such-project",  # not on the index
    "Meta_Status",  # deprecated, but ignored in the settings
    "zope.interface",  # active
    "old-api",  # the index cannot tell (API 1.0)
]

[project.optional-dependencies]
"🐍" = ["evil-pkg"]  # quarantined
`;

/** The user's settings, as VS Code hands them to the extension. */
const USER_SETTINGS: RawSettings = {
    indexUrl: '', // replaced by the test index URL
    cacheDir: '${workspaceFolder}/.cache',
    offline: false,
    ignore: ['meta-status'],
    severity: {
        active: 'none',
        deprecated: 'warning',
        archived: 'error',
        quarantined: 'error',
        notFound: 'information',
        unknown: 'none',
        yanked: 'warning',
        versionMissing: 'warning',
        invalidRequirement: 'error',
    },
};

interface Expected {
    code: string;
    text: string;
    line: number;
    severity: DiagnosticSeverity;
    deprecated: boolean;
}

function rangeText(lines: string[], diagnostic: Diagnostic): string {
    const { start, end } = diagnostic.range;
    assert.equal(start.line, end.line, 'a diagnostic covers one line');
    // JavaScript strings index UTF-16 code units, like LSP positions in VS Code.
    return lines[start.line].slice(start.character, end.character);
}

function expectedDiagnostics(lines: string[]): Expected[] {
    const at = (needle: string): number => lines.findIndex((line) => line.includes(`"${needle}`));
    return [
        { code: 'sbom-enrich/yanked', text: '2.32.0', line: at('requests'), severity: DiagnosticSeverity.Warning, deprecated: false },
        { code: 'sbom-enrich/archived', text: 'pycrypto', line: at('pycrypto'), severity: DiagnosticSeverity.Error, deprecated: true },
        { code: 'sbom-enrich/deprecated', text: 'nose', line: at('nose'), severity: DiagnosticSeverity.Warning, deprecated: true },
        { code: 'sbom-enrich/not-found', text: 'no-such-project', line: at('no-such-project'), severity: DiagnosticSeverity.Information, deprecated: false },
        { code: 'sbom-enrich/quarantined', text: 'evil-pkg', line: lines.findIndex((l) => l.includes('"evil-pkg"')), severity: DiagnosticSeverity.Error, deprecated: false },
    ];
}

function summarize(lines: string[], diagnostics: Diagnostic[]): Expected[] {
    return diagnostics
        .map((d) => ({
            code: String(d.code),
            text: rangeText(lines, d),
            line: d.range.start.line,
            severity: d.severity!,
            deprecated: d.tags?.includes(DiagnosticTag.Deprecated) ?? false,
        }))
        .sort((a, b) => a.line - b.line);
}

function checkDetails(diagnostics: Diagnostic[]): void {
    for (const diagnostic of diagnostics) {
        assert.equal(diagnostic.source, 'sbom-enrich');
        assert.ok(diagnostic.message.length > 0);
    }
    const nose = diagnostics.find((d) => d.code === 'sbom-enrich/deprecated');
    assert.match(nose!.message, /Unmaintained since 2015; use pytest/, 'the index reason is in the message');
    const pycrypto = diagnostics.find((d) => d.code === 'sbom-enrich/archived');
    assert.match(pycrypto!.codeDescription?.href ?? '', /pycrypto/, 'codeDescription links the project page');
    const yanked = diagnostics.find((d) => d.code === 'sbom-enrich/yanked');
    assert.match(yanked!.message, /CVE-2024-35195/, 'the yank reason is in the message');
}

describe('python -m lsp driven like VS Code', { timeout: 300_000 }, () => {
    let index: { url: string; process: ChildProcess };
    let workspace: string;
    let lines: string[];
    let uri: string;

    before(async () => {
        try {
            execFileSync(PYTHON, ['-c', 'import lsp.server, sbom_enrich'], { stdio: 'pipe' });
        } catch (error) {
            throw new Error(
                `${PYTHON} cannot import the server: set SBOM_ENRICH_TEST_PYTHON to a Python with ` +
                    `sbom-enrich[lsp] installed (scripts/test does). ${String(error)}`,
            );
        }
        index = await startIndex();
        workspace = mkdtempSync(join(tmpdir(), 'sbom-enrich-vscode-e2e-'));
        writeFileSync(join(workspace, 'pyproject.toml'), PYPROJECT);
        lines = PYPROJECT.split('\n');
        uri = pathToFileURL(join(workspace, 'pyproject.toml')).href;
    });

    after(() => {
        index?.process.kill('SIGTERM');
        if (workspace !== undefined) {
            rmSync(workspace, { recursive: true, force: true });
        }
    });

    function settings(overrides: Partial<RawSettings> = {}): RawSettings {
        return { ...USER_SETTINGS, indexUrl: index.url, ...overrides };
    }

    async function open(session: Session): Promise<void> {
        await session.connection.sendNotification(DidOpenTextDocumentNotification.type, {
            textDocument: { uri, languageId: 'toml', version: 1, text: PYPROJECT },
        });
    }

    function latest(session: Session): Diagnostic[] | undefined {
        const mine = session.published.filter((p) => p.uri === uri);
        return mine.length > 0 ? mine[mine.length - 1].diagnostics : undefined;
    }

    it('push (a client without pull diagnostics): names, ranges, severities, codes', async () => {
        const session = await startSession(workspace, settings(), false);
        try {
            assert.equal(session.initializeResult.serverInfo?.name, 'sbom-enrich-lsp');
            await open(session);
            const expected = expectedDiagnostics(lines);
            const diagnostics = await waitFor(
                'all diagnostics',
                () => {
                    const current = latest(session);
                    return current !== undefined && current.length >= expected.length ? current : undefined;
                },
                session,
            );
            assert.deepEqual(summarize(lines, diagnostics), expected);
            checkDetails(diagnostics);
            assert.deepEqual(session.shown, [], 'the mapped settings are valid: no warning shown');

            // Hover and the quick fix on pycrypto, where VS Code asks for them.
            const line = expected[1].line;
            const character = lines[line].indexOf('pycrypto') + 2;
            const hover: Hover | null = await session.connection.sendRequest(HoverRequest.type, {
                textDocument: { uri },
                position: { line, character },
            });
            assert.ok(hover !== null, 'hover on pycrypto');
            const contents = hover.contents as MarkupContent;
            assert.equal(contents.kind, 'markdown');
            assert.match(contents.value, /archived/);
            assert.match(contents.value, /pycryptodome/);

            const pycrypto = diagnostics.find((d) => d.code === 'sbom-enrich/archived')!;
            const actions: (CodeAction | Command)[] | null = await session.connection.sendRequest(
                CodeActionRequest.type,
                {
                    textDocument: { uri },
                    range: pycrypto.range,
                    context: { diagnostics: [pycrypto], triggerKind: 1 },
                },
            );
            const titles = (actions ?? []).map((action) => action.title);
            assert.ok(
                titles.some((title) => /pycrypto.*pycryptodome/i.test(title)),
                `a quick fix replacing pycrypto with pycryptodome, got ${JSON.stringify(titles)}`,
            );

            // The user changes a setting: the extension sends the mapped settings again.
            session.settings = toServerSettings(settings({ severity: { ...(USER_SETTINGS.severity as object), archived: 'hint' } }), {
                home: tmpdir(),
                workspaceFolder: workspace,
            });
            const before = session.published.length;
            await session.connection.sendNotification(
                DidChangeConfigurationNotification.type,
                toDidChangeConfigurationParams(session.settings),
            );
            await waitFor(
                'diagnostics after the settings change',
                () => {
                    const fresh = session.published.slice(before).filter((p) => p.uri === uri);
                    const archived = fresh.at(-1)?.diagnostics.find((d) => d.code === 'sbom-enrich/archived');
                    return archived?.severity === DiagnosticSeverity.Hint ? true : undefined;
                },
                session,
            );
        } finally {
            await stopSession(session);
        }
    });

    it('pull (VS Code ≥ 1.82 advertises textDocument.diagnostic): answers pulls, never pushes', async () => {
        const session = await startSession(workspace, settings({ cacheDir: '${workspaceFolder}/.cache-pull' }), true);
        try {
            assert.ok(session.initializeResult.capabilities.diagnosticProvider, 'the server offers pull diagnostics');
            await open(session);
            const expected = expectedDiagnostics(lines);
            // Pull as VS Code does: on open, and again whenever the server asks for a refresh.
            let seenRefreshes = -1;
            let lastItems: Diagnostic[] = [];
            const diagnostics = await waitFor(
                'all diagnostics by pull',
                async () => {
                    if (session.refreshes === seenRefreshes) {
                        return undefined;
                    }
                    seenRefreshes = session.refreshes;
                    const report: DocumentDiagnosticReport = await session.connection.sendRequest(
                        DocumentDiagnosticRequest.type,
                        { textDocument: { uri }, identifier: 'sbom-enrich' },
                    );
                    assert.equal(report.kind, 'full');
                    const items = report.kind === 'full' ? report.items : [];
                    lastItems = items;
                    return items.length >= expected.length ? items : undefined;
                },
                session,
                () => `${session.refreshes} refresh requests; last pull: ${JSON.stringify(summarize(lines, lastItems))}`,
            );
            assert.deepEqual(summarize(lines, diagnostics), expected);
            checkDetails(diagnostics);
            const pushed = session.published.filter((p) => p.diagnostics.length > 0);
            assert.deepEqual(pushed, [], 'a pull client gets no pushed diagnostics (no duplicates)');
        } finally {
            await stopSession(session);
        }
    });
});
