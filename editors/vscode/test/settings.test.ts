// The sbomEnrich.* settings → server settings mapping, and package.json agreeing with it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
    SEVERITY_KEYS,
    expandPath,
    logLevelArguments,
    toDidChangeConfigurationParams,
    toServerSettings,
    toServerSeverity,
} from '../src/common/settings';

const context = { home: '/home/ada', workspaceFolder: '/work/app' };

interface ContributedSetting {
    type: string;
    default: unknown;
    enum?: string[];
}

function contributedSettings(): Record<string, ContributedSetting> {
    // Compiled to out/test/, so the package root is two levels up.
    const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
        contributes: { configuration: { properties: Record<string, ContributedSetting> } };
    };
    return manifest.contributes.configuration.properties;
}

/** What VS Code hands over when nothing is configured: each setting's package.json default. */
function defaultsFromManifest(): Record<string, unknown> {
    const raw: Record<string, unknown> = { severity: {} };
    for (const [name, setting] of Object.entries(contributedSettings())) {
        const key = name.replace(/^sbomEnrich\./, '');
        if (key.startsWith('severity.')) {
            (raw.severity as Record<string, unknown>)[key.slice('severity.'.length)] = setting.default;
        } else {
            raw[key] = setting.default;
        }
    }
    return raw;
}

describe('toServerSettings', () => {
    it('maps the package.json defaults to the DESIGN.md severities, leaving URLs to the server', () => {
        assert.deepEqual(toServerSettings(defaultsFromManifest(), context), {
            offline: false,
            ignore: [],
            severity: {
                active: 'none',
                deprecated: 'warning',
                archived: 'warning',
                quarantined: 'error',
                'not-found': 'warning',
                unknown: 'none',
                yanked: 'warning',
                'version-missing': 'warning',
                'invalid-requirement': 'error',
                'ignore-comment': 'warning',
            },
            debounceMs: 300,
        });
    });

    it('passes every setting the user made', () => {
        const settings = toServerSettings(
            {
                indexUrl: ' https://mirror.example/simple/ ',
                cacheDir: '~/.cache/sbom',
                offline: true,
                ignore: ['pycrypto', 'Foo_Bar'],
                severity: { archived: 'error', notFound: 'hint', versionMissing: 'none' },
                interpreter: ['/usr/bin/python3'],
            },
            context,
        );
        assert.deepEqual(settings, {
            indexUrl: 'https://mirror.example/simple/',
            cacheDir: '/home/ada/.cache/sbom',
            offline: true,
            ignore: ['pycrypto', 'Foo_Bar'],
            severity: { archived: 'error', 'not-found': 'hint', 'version-missing': 'none' },
        });
        assert.ok(!('interpreter' in settings), 'the interpreter is the client’s business');
    });

    it('omits empty index URL and cache dir so the environment twins apply', () => {
        const settings = toServerSettings({ indexUrl: '', cacheDir: '   ' }, context);
        assert.ok(!('indexUrl' in settings));
        assert.ok(!('cacheDir' in settings));
    });

    it('drops values of the wrong type instead of sending them', () => {
        assert.deepEqual(
            toServerSettings(
                { indexUrl: 42, cacheDir: false, offline: 'yes', ignore: ['ok', 3, '', ' ok ', null], severity: 'error' },
                context,
            ),
            { offline: false, ignore: ['ok'], severity: {} },
        );
        assert.deepEqual(toServerSettings({ ignore: 'pycrypto' }, context).ignore, []);
    });

    it('expands ${workspaceFolder} and ${userHome} in cacheDir', () => {
        assert.equal(toServerSettings({ cacheDir: '${workspaceFolder}/.sbom' }, context).cacheDir, '/work/app/.sbom');
        assert.equal(toServerSettings({ cacheDir: '${userHome}/c' }, context).cacheDir, '/home/ada/c');
    });
});

describe('toServerSeverity', () => {
    it('accepts the server spelling from a hand-written settings.json, VS Code key winning', () => {
        assert.deepEqual(toServerSeverity({ 'not-found': 'error' }), { 'not-found': 'error' });
        assert.deepEqual(toServerSeverity({ 'not-found': 'error', notFound: 'hint' }), { 'not-found': 'hint' });
    });

    it('ignores unknown statuses and severities', () => {
        assert.deepEqual(toServerSeverity({ archived: 'fatal', bogus: 'error', quarantined: 'information' }), {
            quarantined: 'information',
        });
        assert.deepEqual(toServerSeverity(['error']), {});
        assert.deepEqual(toServerSeverity(null), {});
    });
});

describe('expandPath', () => {
    it('expands a leading tilde only', () => {
        assert.equal(expandPath('~', context), '/home/ada');
        assert.equal(expandPath('~/x', context), '/home/ada/x');
        assert.equal(expandPath('/a/~/b', context), '/a/~/b');
        assert.equal(expandPath('~other/x', context), '~other/x');
    });

    it('leaves ${workspaceFolder} alone without a workspace', () => {
        assert.equal(expandPath('${workspaceFolder}/c', { home: '/h' }), '${workspaceFolder}/c');
    });
});

describe('toDidChangeConfigurationParams', () => {
    it('wraps the settings under settings.sbomEnrich', () => {
        const settings = toServerSettings({ offline: true }, context);
        assert.deepEqual(toDidChangeConfigurationParams(settings), { settings: { sbomEnrich: settings } });
    });
});

describe('package.json contributes', () => {
    const settings = contributedSettings();

    it('has one severity setting per status the mapping knows, and no other', () => {
        const contributed = Object.keys(settings)
            .filter((name) => name.startsWith('sbomEnrich.severity.'))
            .map((name) => name.slice('sbomEnrich.severity.'.length))
            .sort();
        assert.deepEqual(contributed, Object.keys(SEVERITY_KEYS).sort());
        for (const key of contributed) {
            assert.deepEqual(settings[`sbomEnrich.severity.${key}`].enum, ['error', 'warning', 'information', 'hint', 'none']);
        }
    });

    it('declares the settings the issue names', () => {
        for (const name of ['interpreter', 'indexUrl', 'cacheDir', 'offline', 'ignore', 'trace.server', 'logLevel']) {
            assert.ok(`sbomEnrich.${name}` in settings, `sbomEnrich.${name} missing`);
        }
    });
});

describe('server-only settings', () => {
    it('passes alternativesFiles (expanded) and a debounce within the server’s range', () => {
        const settings = toServerSettings(
            { alternativesFiles: ['${workspaceFolder}/alts.toml', '', 7], debounceMs: 150 },
            context,
        );
        assert.deepEqual(settings.alternativesFiles, ['/work/app/alts.toml']);
        assert.equal(settings.debounceMs, 150);
        assert.ok(!('debounceMs' in toServerSettings({ debounceMs: 20_000 }, context)));
        assert.ok(!('debounceMs' in toServerSettings({ debounceMs: '300' }, context)));
        assert.ok(!('alternativesFiles' in toServerSettings({ alternativesFiles: [] }, context)));
    });

    it('turns the log level into the server’s -v flags', () => {
        assert.deepEqual(logLevelArguments('warning'), []);
        assert.deepEqual(logLevelArguments('info'), ['-v']);
        assert.deepEqual(logLevelArguments('debug'), ['-vv']);
        assert.deepEqual(logLevelArguments(undefined), []);
    });
});

describe('README.md', () => {
    it('documents every contributed setting and command', () => {
        const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
        for (const name of Object.keys(contributedSettings())) {
            assert.ok(readme.includes(`\`${name}\``), `${name} is not in README.md`);
        }
        for (const title of ['sbom-enrich: Restart server', 'sbom-enrich: Show server log']) {
            assert.ok(readme.includes(title), `${title} is not in README.md`);
        }
    });
});
