// Bundles the extension into dist/extension.js (vscode-languageclient included, `vscode` external).
import process from 'node:process';
import * as esbuild from 'esbuild';

const minify = process.argv.includes('--minify');
const watch = process.argv.includes('--watch');

const options = {
    entryPoints: ['src/extension.ts'],
    bundle: true,
    outfile: 'dist/extension.js',
    external: ['vscode'],
    format: 'cjs',
    platform: 'node',
    target: 'node18',
    sourcemap: !minify,
    minify,
    logLevel: 'warning',
};

if (watch) {
    const context = await esbuild.context(options);
    await context.watch();
} else {
    await esbuild.build(options);
}
