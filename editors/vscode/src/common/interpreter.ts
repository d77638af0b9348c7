// Which Python runs the server, and what to tell the user when the package is missing: pure.
import { expandPath, type PathContext } from './settings';

export const DEFAULT_PYTHON = 'python3';
/** The module the server runs as (`<python> -m lsp`) and the imports that prove it is installed. */
export const SERVER_MODULE = 'lsp';
export const IMPORT_CHECK = 'import lsp, sbom_enrich';
export const PIP_REQUIREMENT = 'sbom-enrich[lsp]';

export type InterpreterSource = 'setting' | 'python-extension' | 'default';

export interface Interpreter {
    /** The executable and any leading arguments, e.g. `['/venv/bin/python']` or `['py', '-3']`. */
    readonly command: readonly string[];
    readonly source: InterpreterSource;
}

/** The `sbomEnrich.interpreter` setting as a command: an array, or (hand-written) one string. */
export function interpreterFromSetting(
    value: unknown,
    context: PathContext,
): string[] | undefined {
    const parts =
        typeof value === 'string'
            ? [value]
            : Array.isArray(value)
              ? value.filter((part): part is string => typeof part === 'string')
              : [];
    const command = parts.map((part) => part.trim()).filter((part) => part !== '');
    if (command.length === 0) {
        return undefined;
    }
    command[0] = expandPath(command[0], context);
    return command;
}

/** The setting first, then the Python extension's active interpreter, then `python3`. */
export function chooseInterpreter(
    setting: unknown,
    pythonExtension: readonly string[] | undefined,
    context: PathContext,
): Interpreter {
    const configured = interpreterFromSetting(setting, context);
    if (configured !== undefined) {
        return { command: configured, source: 'setting' };
    }
    if (pythonExtension !== undefined && pythonExtension.length > 0 && pythonExtension[0] !== '') {
        return { command: [...pythonExtension], source: 'python-extension' };
    }
    return { command: [DEFAULT_PYTHON], source: 'default' };
}

/** Quote one word for the user's shell (POSIX single quotes; double quotes on Windows). */
export function shellQuote(word: string, platform: NodeJS.Platform): string {
    if (/^[A-Za-z0-9_@%+=:,./\\-]+$/.test(word)) {
        return word;
    }
    if (platform === 'win32') {
        return `"${word.replace(/"/g, '""')}"`;
    }
    return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command that installs the server into `interpreter`, ready to paste into a terminal. */
export function installCommand(interpreter: readonly string[], platform: NodeJS.Platform): string {
    const python = interpreter.map((word) => shellQuote(word, platform)).join(' ');
    return `${python} -m pip install "${PIP_REQUIREMENT}"`;
}

/** Arguments that start the server over stdio, with any extra server flags (e.g. `-v`). */
export function serverArguments(
    interpreter: readonly string[],
    serverFlags: readonly string[] = [],
): { command: string; args: string[] } {
    return { command: interpreter[0], args: [...interpreter.slice(1), '-m', SERVER_MODULE, ...serverFlags] };
}

/** Arguments that check the server is importable from `interpreter`. */
export function importCheckArguments(interpreter: readonly string[]): {
    command: string;
    args: string[];
} {
    return { command: interpreter[0], args: [...interpreter.slice(1), '-c', IMPORT_CHECK] };
}
