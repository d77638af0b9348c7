// The Python extension's active interpreter, when that extension is installed (it is optional).
import { execFile } from 'child_process';
import type { Disposable, Event, Uri } from 'vscode';
import { extensions } from 'vscode';
import { PYTHON_EXTENSION_ID } from './constants';
import { importCheckArguments } from './interpreter';
import { traceError, traceVerbose } from './log/logging';

// The slice of ms-python.python's API used here (see @vscode/python-extension). Older releases
// called `environments` `environment`; both are tried, then `settings.getExecutionDetails`.
interface EnvironmentPath {
    readonly id: string;
    readonly path: string;
}
interface ResolvedEnvironment {
    readonly executable: { readonly uri: Uri | undefined };
}
interface EnvironmentsApi {
    getActiveEnvironmentPath(resource?: Uri): EnvironmentPath;
    resolveEnvironment(environment: EnvironmentPath | string): Promise<ResolvedEnvironment | undefined>;
    readonly onDidChangeActiveEnvironmentPath: Event<unknown>;
}
interface PythonExtensionApi {
    readonly ready?: Promise<void>;
    readonly environments?: EnvironmentsApi;
    readonly environment?: EnvironmentsApi;
    readonly settings?: {
        getExecutionDetails(resource?: Uri): { execCommand: string[] | undefined };
    };
}

async function pythonExtensionApi(): Promise<PythonExtensionApi | undefined> {
    const extension = extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION_ID);
    if (extension === undefined) {
        return undefined;
    }
    try {
        const api = extension.isActive ? extension.exports : await extension.activate();
        await api?.ready;
        return api;
    } catch (error) {
        traceError('Could not activate the Python extension:', error);
        return undefined;
    }
}

/** The interpreter the Python extension has selected for `resource`, if it is installed. */
export async function pythonExtensionInterpreter(resource?: Uri): Promise<string[] | undefined> {
    const api = await pythonExtensionApi();
    if (api === undefined) {
        return undefined;
    }
    try {
        const environments = api.environments ?? api.environment;
        if (environments !== undefined) {
            const active = environments.getActiveEnvironmentPath(resource);
            const resolved = await environments.resolveEnvironment(active);
            if (resolved?.executable.uri !== undefined) {
                return [resolved.executable.uri.fsPath];
            }
        }
        const command = api.settings?.getExecutionDetails(resource).execCommand;
        return command !== undefined && command.length > 0 ? command : undefined;
    } catch (error) {
        traceError('Could not ask the Python extension for its interpreter:', error);
        return undefined;
    }
}

/** Calls `listener` when the user picks another interpreter in the Python extension. */
export async function onDidChangePythonInterpreter(listener: () => void): Promise<Disposable | undefined> {
    const api = await pythonExtensionApi();
    const environments = api?.environments ?? api?.environment;
    return environments?.onDidChangeActiveEnvironmentPath(() => listener());
}

export type ImportCheck =
    | { readonly ok: true }
    | { readonly ok: false; readonly reason: 'missing-interpreter' | 'missing-package'; readonly detail: string };

/** Whether `interpreter` can import the server (`<python> -c "import lsp, sbom_enrich"`). */
export function checkServerImportable(interpreter: readonly string[], cwd: string): Promise<ImportCheck> {
    const { command, args } = importCheckArguments(interpreter);
    traceVerbose(`Checking the server is installed: ${[command, ...args].join(' ')}`);
    return new Promise((resolve) => {
        execFile(command, args, { cwd, timeout: 30_000 }, (error, _stdout, stderr) => {
            if (error === null) {
                resolve({ ok: true });
            } else if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
                resolve({ ok: false, reason: 'missing-interpreter', detail: error.message });
            } else {
                resolve({ ok: false, reason: 'missing-package', detail: stderr.trim() || error.message });
            }
        });
    });
}
