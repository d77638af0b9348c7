// Entry point: finds the interpreter, checks the server is installed, runs it, restarts on demand.
import * as os from 'os';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { RESTART_COMMAND, SERVER_NAME, SHOW_LOG_COMMAND } from './common/constants';
import type { Interpreter } from './common/interpreter';
import { chooseInterpreter, installCommand } from './common/interpreter';
import { registerLogger, traceError, traceInfo, traceWarn } from './common/log/logging';
import { checkServerImportable, onDidChangePythonInterpreter, pythonExtensionInterpreter } from './common/python';
import { createServer, startServer, stopServer } from './common/server';
import type { PathContext, RawSettings, ServerSettings } from './common/settings';
import { RESTART_SETTINGS, SECTION, logLevelArguments, toServerSettings } from './common/settings';

let client: LanguageClient | undefined;
/** Interpreters the user was already told about: one notification each, not one per restart. */
const notified = new Set<string>();

function workspaceFolder(): vscode.WorkspaceFolder | undefined {
    return vscode.workspace.workspaceFolders?.[0];
}

function pathContext(): PathContext {
    return { home: os.homedir(), workspaceFolder: workspaceFolder()?.uri.fsPath };
}

function rawSettings(): RawSettings {
    const config = vscode.workspace.getConfiguration(SECTION, workspaceFolder());
    return {
        interpreter: config.get('interpreter'),
        indexUrl: config.get('indexUrl'),
        cacheDir: config.get('cacheDir'),
        offline: config.get('offline'),
        ignore: config.get('ignore'),
        alternativesFiles: config.get('alternativesFiles'),
        debounceMs: config.get('debounceMs'),
        logLevel: config.get('logLevel'),
        severity: config.get('severity'),
    };
}

function serverSettings(): ServerSettings {
    return toServerSettings(rawSettings(), pathContext());
}

async function resolveInterpreter(): Promise<Interpreter> {
    const settings = rawSettings();
    const fromSetting = chooseInterpreter(settings.interpreter, undefined, pathContext());
    if (fromSetting.source === 'setting') {
        return fromSetting;
    }
    const fromPython = await pythonExtensionInterpreter(workspaceFolder()?.uri);
    return chooseInterpreter(undefined, fromPython, pathContext());
}

async function tellUserServerMissing(interpreter: Interpreter, reason: string, detail: string): Promise<void> {
    const key = interpreter.command.join('\0');
    traceError(`The server cannot run with ${interpreter.command.join(' ')}: ${detail}`);
    if (notified.has(key)) {
        return;
    }
    notified.add(key);
    const command = installCommand(interpreter.command, process.platform);
    const where =
        interpreter.source === 'setting'
            ? 'the interpreter set in sbomEnrich.interpreter'
            : interpreter.source === 'python-extension'
              ? "the Python extension's interpreter"
              : 'python3';
    const message =
        reason === 'missing-interpreter'
            ? `sbom-enrich: ${where} (${interpreter.command[0]}) was not found. Set "sbomEnrich.interpreter" to a Python that has sbom-enrich installed: ${command}`
            : `sbom-enrich: the language server is not installed for ${where} (${interpreter.command[0]}). Install it with: ${command}`;
    const copy = 'Copy command';
    const choice = await vscode.window.showWarningMessage(message, copy);
    if (choice === copy) {
        await vscode.env.clipboard.writeText(command);
    }
}

async function runServer(outputChannel: vscode.LogOutputChannel): Promise<void> {
    await stopServer(client);
    client = undefined;
    const interpreter = await resolveInterpreter();
    traceInfo(`Interpreter (${interpreter.source}): ${interpreter.command.join(' ')}`);
    const cwd = workspaceFolder()?.uri.fsPath ?? os.homedir();
    const check = await checkServerImportable(interpreter.command, cwd);
    if (!check.ok) {
        // Not awaited: the notification stays up while the extension carries on.
        void tellUserServerMissing(interpreter, check.reason, check.detail);
        return;
    }
    const next = createServer({
        interpreter: interpreter.command,
        serverFlags: logLevelArguments(rawSettings().logLevel),
        cwd,
        outputChannel,
        settings: serverSettings,
    });
    client = next;
    await startServer(next);
}

export function activate(context: vscode.ExtensionContext): void {
    const outputChannel = vscode.window.createOutputChannel(SERVER_NAME, { log: true });
    context.subscriptions.push(outputChannel, registerLogger(outputChannel));

    // Restarts run one after another, never two server processes at once.
    let queue: Promise<void> = Promise.resolve();
    const restart = (why: string): Promise<void> => {
        traceInfo(`Starting the server (${why})`);
        queue = queue.then(() => runServer(outputChannel)).catch((error: unknown) => {
            traceError('Starting the server failed:', error);
        });
        return queue;
    };

    context.subscriptions.push(
        vscode.commands.registerCommand(RESTART_COMMAND, () => {
            // A deliberate restart may tell the user again about a still-missing package.
            notified.clear();
            return restart('restart command');
        }),
        vscode.commands.registerCommand(SHOW_LOG_COMMAND, () => outputChannel.show()),
        vscode.workspace.onDidChangeConfiguration((event) => {
            // Other sbomEnrich.* settings reach the running server as didChangeConfiguration.
            if (RESTART_SETTINGS.some((name) => event.affectsConfiguration(name))) {
                void restart('interpreter or log level changed');
            }
        }),
    );

    onDidChangePythonInterpreter(() => {
        const configured = chooseInterpreter(rawSettings().interpreter, undefined, pathContext());
        if (configured.source !== 'setting') {
            void restart('Python extension interpreter changed');
        }
    }).then(
        (disposable) => {
            if (disposable !== undefined) {
                context.subscriptions.push(disposable);
            }
        },
        (error: unknown) => traceWarn('Not following the Python extension interpreter:', error),
    );

    void restart('activation');
}

export async function deactivate(): Promise<void> {
    await stopServer(client);
    client = undefined;
}
