// Starting and stopping the language server process (`<python> -m lsp` over stdio).
import type { LogOutputChannel } from 'vscode';
import type { LanguageClientOptions, ServerOptions } from 'vscode-languageclient/node';
import {
    DidChangeConfigurationNotification,
    LanguageClient,
    RevealOutputChannelOn,
    State,
    TransportKind,
} from 'vscode-languageclient/node';
import { DOCUMENT_SELECTOR, SERVER_ID, SERVER_NAME } from './constants';
import { serverArguments } from './interpreter';
import { traceError, traceInfo, traceVerbose } from './log/logging';
import type { ServerSettings } from './settings';
import { SECTION, toDidChangeConfigurationParams } from './settings';

export interface ServerLaunch {
    readonly interpreter: readonly string[];
    /** Extra arguments after `-m lsp`, e.g. `-v`. */
    readonly serverFlags: readonly string[];
    readonly cwd: string;
    readonly outputChannel: LogOutputChannel;
    /** The current settings, mapped for the server; read again on every change. */
    readonly settings: () => ServerSettings;
}

export function createServer(launch: ServerLaunch): LanguageClient {
    const { command, args } = serverArguments(launch.interpreter, launch.serverFlags);
    traceInfo(`Server command: ${[command, ...args].join(' ')} (cwd ${launch.cwd})`);
    const executable = {
        command,
        args,
        transport: TransportKind.stdio,
        options: { cwd: launch.cwd, env: { ...process.env } },
    };
    const serverOptions: ServerOptions = { run: executable, debug: executable };

    let client: LanguageClient | undefined = undefined;
    const clientOptions: LanguageClientOptions = {
        documentSelector: DOCUMENT_SELECTOR,
        outputChannel: launch.outputChannel,
        traceOutputChannel: launch.outputChannel,
        revealOutputChannelOn: RevealOutputChannelOn.Never,
        initializationOptions: launch.settings(),
        // Any change under `sbomEnrich.*` makes the client send didChangeConfiguration; the
        // middleware below replaces VS Code's raw settings with the mapped ones.
        synchronize: { configurationSection: SECTION },
        middleware: {
            workspace: {
                didChangeConfiguration: async () => {
                    await client?.sendNotification(
                        DidChangeConfigurationNotification.type,
                        toDidChangeConfigurationParams(launch.settings()),
                    );
                },
                // A server that pulls (`workspace/configuration`, section `sbomEnrich`) gets the
                // same mapped object as the one pushed.
                configuration: async (params, token, next) => {
                    const answer = await next(params, token);
                    if (!Array.isArray(answer)) {
                        return answer;
                    }
                    return params.items.map((item, index): unknown =>
                        item.section === SECTION ? launch.settings() : answer[index],
                    );
                },
            },
        },
    };
    client = new LanguageClient(SERVER_ID, SERVER_NAME, serverOptions, clientOptions);
    client.onDidChangeState((event) => {
        traceVerbose(`Server state: ${State[event.newState]}`);
    });
    return client;
}

/** Start `client`; a failure is logged (the client shows its own error) and reported as false. */
export async function startServer(client: LanguageClient): Promise<boolean> {
    try {
        await client.start();
        return true;
    } catch (error) {
        traceError('The server did not start:', error);
        return false;
    }
}

export async function stopServer(client: LanguageClient | undefined): Promise<void> {
    if (client === undefined) {
        return;
    }
    try {
        if (client.state !== State.Stopped) {
            await client.stop();
        }
    } catch (error) {
        traceError('The server did not stop cleanly:', error);
    } finally {
        await client.dispose().catch(() => undefined);
    }
}
