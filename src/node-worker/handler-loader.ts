// Handler resolution for the Node runtime: `module[:function]` → a module file in the model
// directory (.ts, .mts, .mjs, .cjs, .js) or a built-in (`onnx`, `echo`), then its entry points.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { HandlerContext } from './handler-context.js';
import type { LoadedHandler } from './predict.js';

export type HandlerSpec =
  | { readonly kind: 'builtin'; readonly name: 'onnx' | 'echo' }
  | { readonly kind: 'file'; readonly file: string; readonly exportName: string };

export const HANDLER_EXTENSIONS = ['.ts', '.mts', '.cts', '.mjs', '.cjs', '.js'] as const;
const BUILTINS = new Set(['onnx', 'echo']);

export class HandlerLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandlerLoadError';
  }
}

/** The serializedFile of a manifest, when it names one. */
export function serializedFileOf(manifest: unknown): string | undefined {
  const model = typeof manifest === 'object' && manifest !== null ? (manifest as { model?: unknown }).model : undefined;
  const file = typeof model === 'object' && model !== null ? (model as { serializedFile?: unknown }).serializedFile : undefined;
  return typeof file === 'string' && file.length > 0 ? file : undefined;
}

function splitHandler(handler: string): [string, string] {
  const colon = handler.lastIndexOf(':');
  if (colon < 0) return [handler, 'handle'];
  return [handler.slice(0, colon), handler.slice(colon + 1) || 'handle'];
}

/** Decides what a handler string names; `exists` is injectable for tests. */
export function parseHandler(handler: string, modelDir: string, manifest: unknown, exists: (p: string) => boolean = existsSync): HandlerSpec {
  if (handler === '') {
    if (serializedFileOf(manifest)?.toLowerCase().endsWith('.onnx') === true) return { kind: 'builtin', name: 'onnx' };
    throw new HandlerLoadError('No handler given (and no .onnx serializedFile for the built-in onnx handler)');
  }
  const [modulePart, exportName] = splitHandler(handler);
  if (modulePart === '') throw new HandlerLoadError(`Invalid handler: ${JSON.stringify(handler)}`);
  const candidates = path.isAbsolute(modulePart) ? [modulePart] : [path.join(modelDir, modulePart), path.join(modelDir, path.basename(modulePart))];
  const hasExtension = HANDLER_EXTENSIONS.some((ext) => modulePart.endsWith(ext));
  for (const base of candidates) {
    const files = hasExtension ? [base] : HANDLER_EXTENSIONS.map((ext) => base + ext);
    const found = files.find((f) => exists(f));
    if (found !== undefined) return { kind: 'file', file: found, exportName };
  }
  if (!hasExtension && BUILTINS.has(modulePart)) return { kind: 'builtin', name: modulePart as 'onnx' | 'echo' };
  const looked = hasExtension ? modulePart : `${modulePart}{${HANDLER_EXTENSIONS.join(',')}}`;
  throw new HandlerLoadError(`Handler module not found: ${looked} in ${modelDir}`);
}

type Fn = (...args: unknown[]) => unknown;
const isFn = (v: unknown): v is Fn => typeof v === 'function';

/** Picks entry points from a module namespace: named exports, a default object, or a default class. */
export function entryPointsOf(ns: Readonly<Record<string, unknown>>, exportName: string, file: string): { handler: LoadedHandler; initialize?: Fn } {
  const def = ns.default;
  const holders: Array<Record<string, unknown>> = [ns as Record<string, unknown>];
  if (typeof def === 'object' && def !== null) holders.push(def as Record<string, unknown>);
  for (const holder of holders) {
    const handle = holder[exportName];
    if (isFn(handle) && !isClass(handle)) return bind(holder, handle, undefined);
  }
  const classes = [def, ...Object.values(ns)].filter((v): v is new () => Record<string, unknown> => isClass(v) && isFn(v.prototype?.[exportName]));
  const cls = classes[0];
  if (cls !== undefined) {
    const instance = new cls();
    return bind(instance, instance[exportName] as Fn, instance);
  }
  throw new HandlerLoadError(`Handler module ${path.basename(file)} exports no function or class method named ${exportName}`);
}

function isClass(v: unknown): v is Fn & { prototype: Record<string, unknown> } {
  return isFn(v) && /^class[\s{]/.test(Function.prototype.toString.call(v));
}

function bind(holder: Record<string, unknown>, handle: Fn, self: unknown): { handler: LoadedHandler; initialize?: Fn } {
  const method = (name: string): Fn | undefined => {
    const f = holder[name];
    return isFn(f) ? (f.bind(self) as Fn) : undefined;
  };
  const describe = method('describe');
  const explain = method('explain');
  const initialize = method('initialize');
  const handler: LoadedHandler = {
    handle: handle.bind(self) as LoadedHandler['handle'],
    ...(describe ? { describe: describe as LoadedHandler['describe'] } : {}),
    ...(explain ? { explain: explain as LoadedHandler['explain'] } : {}),
  };
  return initialize ? { handler, initialize } : { handler };
}

/** Imports the handler named in the load message and runs its initialize(context). */
export async function loadHandler(handler: string, context: HandlerContext): Promise<LoadedHandler> {
  const spec = parseHandler(handler, context.systemProperties.model_dir, context.manifest);
  if (spec.kind === 'builtin') {
    if (spec.name === 'echo') return (await import('./builtin/echo-handler.js')).echoHandler;
    return (await import('./builtin/onnx-handler.js')).loadOnnxHandler(context);
  }
  const ns = (await import(pathToFileURL(spec.file).href)) as Record<string, unknown>;
  const { handler: loaded, initialize } = entryPointsOf(ns, spec.exportName, spec.file);
  if (initialize !== undefined) await initialize(context);
  return loaded;
}
