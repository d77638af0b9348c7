// What the `sbomEnrich.*` settings mean to the server: a pure mapping, unit-tested outside VS Code.
// Nothing here imports `vscode`; extension.ts reads the configuration and passes a plain snapshot.

/** The configuration section every setting lives under (`sbomEnrich.indexUrl`, ...). */
export const SECTION = 'sbomEnrich';

export const SEVERITIES = ['error', 'warning', 'information', 'hint', 'none'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * Severity setting keys (VS Code spelling, camelCase) → the server's diagnostic kinds
 * (src/lsp/lsp_settings.py DEFAULT_SEVERITY; the diagnostic codes are `sbom-enrich/<kind>`).
 */
export const SEVERITY_KEYS = {
    active: 'active',
    deprecated: 'deprecated',
    archived: 'archived',
    quarantined: 'quarantined',
    notFound: 'not-found',
    unknown: 'unknown',
    yanked: 'yanked',
    versionMissing: 'version-missing',
    invalidRequirement: 'invalid-requirement',
    ignoreComment: 'ignore-comment',
} as const;
export type SeverityKey = keyof typeof SEVERITY_KEYS;
export type ServerStatus = (typeof SEVERITY_KEYS)[SeverityKey];

/** The settings as VS Code hands them over: anything may be missing or of the wrong type. */
export interface RawSettings {
    readonly interpreter?: unknown;
    readonly indexUrl?: unknown;
    readonly cacheDir?: unknown;
    readonly offline?: unknown;
    readonly ignore?: unknown;
    readonly alternativesFiles?: unknown;
    readonly debounceMs?: unknown;
    readonly logLevel?: unknown;
    /** `sbomEnrich.severity.*` arrives as one object: `{ archived: 'warning', notFound: ... }`. */
    readonly severity?: unknown;
}

/** What the server reads from initializationOptions and `settings.sbomEnrich`. */
export interface ServerSettings {
    indexUrl?: string;
    cacheDir?: string;
    offline: boolean;
    severity: Partial<Record<ServerStatus, Severity>>;
    ignore: string[];
    alternativesFiles?: string[];
    debounceMs?: number;
}

/** Where variables in path-like settings point. */
export interface PathContext {
    readonly home: string;
    readonly workspaceFolder?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSeverity(value: unknown): value is Severity {
    return typeof value === 'string' && (SEVERITIES as readonly string[]).includes(value);
}

/** `~`, `${userHome}` and `${workspaceFolder}` as in VS Code's own path settings. */
export function expandPath(value: string, context: PathContext): string {
    let path = value.trim();
    if (path === '~' || path.startsWith('~/') || path.startsWith('~\\')) {
        path = context.home + path.slice(1);
    }
    path = path.replace(/\$\{userHome\}/g, context.home);
    if (context.workspaceFolder !== undefined) {
        path = path.replace(/\$\{workspaceFolder\}/g, context.workspaceFolder);
    }
    return path;
}

function nonEmptyString(value: unknown): string | undefined {
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** The strings of an array setting, trimmed, without blanks and duplicates. */
function stringList(value: unknown): string[] {
    if (!Array.isArray(value)) {
        return [];
    }
    const strings = value.filter((item): item is string => typeof item === 'string');
    return [...new Set(strings.map((item) => item.trim()).filter((item) => item !== ''))];
}

/** The server accepts 0–10000 ms (lsp_settings.py); anything else keeps its default. */
export const MAX_DEBOUNCE_MS = 10_000;

/**
 * The severity table for the server. Accepts the VS Code keys (`notFound`) and, for hand-written
 * settings.json, the server's own spelling (`not-found`); the VS Code key wins when both are set.
 * Values that are not a severity are dropped, so the server keeps its default for that status.
 */
export function toServerSeverity(raw: unknown): Partial<Record<ServerStatus, Severity>> {
    const table: Partial<Record<ServerStatus, Severity>> = {};
    if (!isRecord(raw)) {
        return table;
    }
    for (const [key, status] of Object.entries(SEVERITY_KEYS) as [SeverityKey, ServerStatus][]) {
        const value = key in raw ? raw[key] : raw[status];
        if (isSeverity(value)) {
            table[status] = value;
        }
    }
    return table;
}

/**
 * Map the `sbomEnrich.*` settings to the server's settings object (initializationOptions, and
 * `{ settings: { sbomEnrich: ... } }` on change). Empty `indexUrl`/`cacheDir` are left out so the
 * server falls back to `SBOM_ENRICH_INDEX_URL` / `SBOM_ENRICH_CACHE_DIR` and its defaults.
 */
export function toServerSettings(raw: RawSettings, context: PathContext): ServerSettings {
    const settings: ServerSettings = {
        offline: raw.offline === true,
        severity: toServerSeverity(raw.severity),
        ignore: stringList(raw.ignore),
    };
    const indexUrl = nonEmptyString(raw.indexUrl);
    if (indexUrl !== undefined) {
        settings.indexUrl = indexUrl;
    }
    const cacheDir = nonEmptyString(raw.cacheDir);
    if (cacheDir !== undefined) {
        settings.cacheDir = expandPath(cacheDir, context);
    }
    const alternativesFiles = stringList(raw.alternativesFiles);
    if (alternativesFiles.length > 0) {
        settings.alternativesFiles = alternativesFiles.map((file) => expandPath(file, context));
    }
    if (
        typeof raw.debounceMs === 'number' &&
        Number.isFinite(raw.debounceMs) &&
        raw.debounceMs >= 0 &&
        raw.debounceMs <= MAX_DEBOUNCE_MS
    ) {
        settings.debounceMs = raw.debounceMs;
    }
    return settings;
}

/** The `workspace/didChangeConfiguration` params that carry the settings. */
export function toDidChangeConfigurationParams(settings: ServerSettings): {
    settings: { [SECTION]: ServerSettings };
} {
    return { settings: { [SECTION]: settings } };
}

/** Setting names whose change needs a new server process rather than a settings notification. */
export const RESTART_SETTINGS: readonly string[] = [`${SECTION}.interpreter`, `${SECTION}.logLevel`];

/** `sbomEnrich.logLevel` → the server's verbosity flags (`-v` info, `-vv` debug). */
export function logLevelArguments(level: unknown): string[] {
    return level === 'debug' ? ['-vv'] : level === 'info' ? ['-v'] : [];
}
