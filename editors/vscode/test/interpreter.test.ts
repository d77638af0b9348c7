// Choosing the interpreter and the install hint shown when the server is missing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
    chooseInterpreter,
    importCheckArguments,
    installCommand,
    serverArguments,
    shellQuote,
} from '../src/common/interpreter';

const context = { home: '/home/ada', workspaceFolder: '/work/app' };

describe('chooseInterpreter', () => {
    it('prefers the sbomEnrich.interpreter setting', () => {
        assert.deepEqual(chooseInterpreter(['${workspaceFolder}/.venv/bin/python'], ['/py/ext'], context), {
            command: ['/work/app/.venv/bin/python'],
            source: 'setting',
        });
    });

    it('accepts a single string and leading arguments', () => {
        assert.deepEqual(chooseInterpreter('~/venv/bin/python', undefined, context).command, ['/home/ada/venv/bin/python']);
        assert.deepEqual(chooseInterpreter(['py', '-3.12'], undefined, context).command, ['py', '-3.12']);
    });

    it('then the Python extension, then python3', () => {
        assert.deepEqual(chooseInterpreter([], ['/py/ext'], context), { command: ['/py/ext'], source: 'python-extension' });
        assert.deepEqual(chooseInterpreter(['  '], [], context), { command: ['python3'], source: 'default' });
        assert.deepEqual(chooseInterpreter(undefined, undefined, context), { command: ['python3'], source: 'default' });
    });
});

describe('commands', () => {
    it('runs the server as -m lsp after any interpreter arguments', () => {
        assert.deepEqual(serverArguments(['py', '-3']), { command: 'py', args: ['-3', '-m', 'lsp'] });
        assert.deepEqual(importCheckArguments(['python3']), {
            command: 'python3',
            args: ['-c', 'import lsp, sbom_enrich'],
        });
    });

    it('prints an install command that survives the shell', () => {
        assert.equal(installCommand(['/venv/bin/python'], 'linux'), '/venv/bin/python -m pip install "sbom-enrich[lsp]"');
        assert.equal(
            installCommand(["/home/o'brien/my env/python"], 'darwin'),
            `'/home/o'\\''brien/my env/python' -m pip install "sbom-enrich[lsp]"`,
        );
        assert.equal(
            installCommand(['C:\\Program Files\\Python312\\python.exe'], 'win32'),
            '"C:\\Program Files\\Python312\\python.exe" -m pip install "sbom-enrich[lsp]"',
        );
        assert.equal(shellQuote('C:\\Python\\python.exe', 'win32'), 'C:\\Python\\python.exe');
    });
});
