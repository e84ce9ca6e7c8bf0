#!/usr/bin/env node
// Part of `npm run build`: copies the browser console's files (src/console-ui) and the chart
// library it uses (uPlot, from node_modules, pinned in package.json) into dist/console, so the
// console is served from the package itself with no network (docs/console.md).
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOURCE = path.join(ROOT, 'src', 'console-ui');
const TARGET = path.join(ROOT, 'dist', 'console');
const uplotDist = path.dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));

await mkdir(TARGET, { recursive: true });
for (const name of await readdir(SOURCE)) await copyFile(path.join(SOURCE, name), path.join(TARGET, name));
for (const name of ['uPlot.iife.min.js', 'uPlot.min.css']) await copyFile(path.join(uplotDist, name), path.join(TARGET, name));
