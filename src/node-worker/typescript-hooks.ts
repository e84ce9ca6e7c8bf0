// Module hooks of the Node worker (registered with module.register before a handler is
// imported; they run on Node's hooks thread):
// - load: .ts/.mts handler files are compiled to ES modules with TypeScript's transpileModule
//   (types are stripped, not checked), with an inline source map for stack traces;
// - resolve: a relative import that names `x.js` (or nothing) finds `x.ts`, and a package the
//   model folder cannot see is looked up where Lantern is installed (onnxruntime-node, …).
import { readFile } from 'node:fs/promises';
import type { LoadHook, ResolveHook } from 'node:module';
import { fileURLToPath } from 'node:url';

const TS_FILE = /\.m?ts$/;

type TypeScript = typeof import('typescript');
let compiler: Promise<TypeScript> | undefined; // the hooks thread's own cache; loaded on first .ts file

function typescript(): Promise<TypeScript> {
  compiler ??= import('typescript').then((m) => ((m as { default?: TypeScript }).default ?? m) as TypeScript);
  return compiler;
}

const isRelative = (s: string): boolean => s.startsWith('./') || s.startsWith('../') || s.startsWith('/') || s.startsWith('file:');
const isBare = (s: string): boolean => !isRelative(s) && !/^[a-z][a-z0-9+.-]*:/i.test(s);

function alternatives(specifier: string): string[] {
  if (/\.js$/.test(specifier)) return [specifier.replace(/\.js$/, '.ts')];
  if (/\.mjs$/.test(specifier)) return [specifier.replace(/\.mjs$/, '.mts')];
  if (!/\.[a-z]+$/i.test(specifier.split('/').pop() ?? '')) return ['.ts', '.mts', '.js', '.mjs'].map((ext) => specifier + ext);
  return [];
}

const notFound = (err: unknown): boolean => {
  const code = (err as { code?: unknown }).code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_UNSUPPORTED_DIR_IMPORT';
};

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    if (!notFound(err)) throw err;
    if (isRelative(specifier)) {
      for (const candidate of alternatives(specifier)) {
        try {
          return await nextResolve(candidate, context);
        } catch (again) {
          if (!notFound(again)) throw again;
        }
      }
    } else if (isBare(specifier) && context.parentURL !== import.meta.url) {
      return nextResolve(specifier, { ...context, parentURL: import.meta.url });
    }
    throw err;
  }
};

export const load: LoadHook = async (url, context, nextLoad) => {
  if (!url.startsWith('file:') || !TS_FILE.test(new URL(url).pathname)) return nextLoad(url, context);
  const fileName = fileURLToPath(url);
  const ts = await typescript();
  const output = ts.transpileModule(await readFile(fileName, 'utf8'), {
    fileName,
    reportDiagnostics: true,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      inlineSourceMap: true,
      inlineSources: true,
      esModuleInterop: true,
    },
  });
  const errors = (output.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) {
    const text = errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('; ');
    throw new SyntaxError(`Cannot compile ${fileName}: ${text}`);
  }
  return { format: 'module', source: output.outputText, shortCircuit: true };
};
