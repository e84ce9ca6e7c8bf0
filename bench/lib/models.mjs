// The models the benchmark serves, laid out as model-store directories, and the request bodies
// it sends them. resnet18 is exported once (bench/export_resnet18.py) into bench/.cache.
import { execFile } from 'node:child_process';
import { access, copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './processes.mjs';

export const CACHE_DIR = path.join(ROOT, 'bench', '.cache');
const RESNET18 = path.join(CACHE_DIR, 'resnet18.onnx');
/** The Python with torch and torchvision (Debian's python3-torch); LANTERN_BENCH_TORCH_PYTHON overrides. */
const TORCH_PYTHON = process.env.LANTERN_BENCH_TORCH_PYTHON ?? '/usr/bin/python3';

async function exists(file) {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** The resnet18 .onnx file, exported on first use; null (with the reason) when torch is unavailable. */
export async function resnet18File() {
  if (await exists(RESNET18)) return { file: RESNET18, reason: null };
  try {
    await promisify(execFile)(TORCH_PYTHON, [path.join(ROOT, 'bench', 'export_resnet18.py'), RESNET18], { timeout: 300_000 });
    return { file: RESNET18, reason: null };
  } catch (err) {
    return { file: null, reason: `could not export resnet18 with ${TORCH_PYTHON} (torch and torchvision needed): ${String(err.message).split('\n')[0]}` };
  }
}

async function modelDir(store, name, files, manifestModel, runtime, config = null) {
  const dir = path.join(store, name);
  await mkdir(path.join(dir, 'MAR-INF'), { recursive: true });
  for (const [from, to] of files) await copyFile(from, path.join(dir, to));
  const model = { modelName: name, modelVersion: '1.0', ...manifestModel };
  if (config !== null) {
    await writeFile(path.join(dir, 'model-config.yaml'), config);
    model.configFile = 'model-config.yaml';
  }
  await writeFile(path.join(dir, 'MAR-INF', 'MANIFEST.json'), JSON.stringify({ runtime, model }));
  return dir;
}

/** ONNX Runtime threads, written to model-config.yaml and used for the in-process ceiling alike. */
export function onnxYaml(options) {
  return `onnx:\n${Object.entries(options)
    .map(([k, v]) => `  ${k}: ${v}\n`)
    .join('')}`;
}

/** Builds the store: noop-py, noop-node, mlp (the bundled digits MLP) and, when given, resnet18. */
export async function makeStore(store, { mlpOptions, resnetFile, resnetOptions }) {
  await modelDir(store, 'noop-py', [[path.join(ROOT, 'bench', 'handlers', 'noop_handler.py'), 'noop_handler.py']], { handler: 'noop_handler.py' }, 'python');
  await modelDir(store, 'noop-node', [[path.join(ROOT, 'bench', 'handlers', 'noop_handler.mjs'), 'noop_handler.mjs']], { handler: 'noop_handler.mjs' }, 'node');
  await modelDir(
    store,
    'mlp',
    [[path.join(ROOT, 'examples', 'model-store', 'digits', 'digits.onnx'), 'digits.onnx']],
    { serializedFile: 'digits.onnx', handler: 'onnx' },
    'node',
    onnxYaml(mlpOptions),
  );
  if (resnetFile !== null) {
    await modelDir(store, 'resnet18', [[resnetFile, 'resnet18.onnx']], { serializedFile: 'resnet18.onnx', handler: 'onnx' }, 'node', onnxYaml(resnetOptions));
  }
}

/** Deterministic pseudo-random numbers in [0, 1), rounded to 3 decimals (short JSON, exact in float32 terms for the test). */
function* values(seed) {
  let x = seed >>> 0;
  for (;;) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    yield Math.round((x / 2 ** 32) * 1000) / 1000;
  }
}

/** One sample of `dims` (without the samples axis) as flat float32 data and as the JSON body `[sample]`. */
export function sampleInput(dims, seed = 1, scale = 1) {
  const size = dims.reduce((a, b) => a * b, 1);
  const gen = values(seed);
  const flat = new Float32Array(size);
  const plain = new Array(size);
  for (let i = 0; i < size; i++) {
    const v = Math.round(gen.next().value * scale * 1000) / 1000;
    flat[i] = v;
    plain[i] = v;
  }
  const nest = (offset, depth) => {
    if (depth === dims.length - 1) return plain.slice(offset, offset + dims[depth]);
    const stride = dims.slice(depth + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: dims[depth] }, (_, i) => nest(offset + i * stride, depth + 1));
  };
  return { flat, body: JSON.stringify([nest(0, 0)]) };
}
