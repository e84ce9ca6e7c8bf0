// The model directory as the worker reads it: MAR-INF/MANIFEST.json and the manifest's
// model-config.yaml (the worker imports nothing of the front end, so it parses both itself).
import { readFile } from 'node:fs/promises';
import path from 'node:path';

async function readIfPresent(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The parsed manifest, or null when the directory has none. */
export async function readManifest(modelDir: string): Promise<unknown> {
  const text = await readIfPresent(path.join(modelDir, 'MAR-INF', 'MANIFEST.json'));
  return text === null ? null : (JSON.parse(text) as unknown);
}

/** The manifest's `model.configFile` parsed as YAML; {} without one. */
export async function readModelYamlConfig(modelDir: string, manifest: unknown): Promise<Record<string, unknown>> {
  const model = typeof manifest === 'object' && manifest !== null ? (manifest as { model?: unknown }).model : undefined;
  const configFile = typeof model === 'object' && model !== null ? (model as { configFile?: unknown }).configFile : undefined;
  if (typeof configFile !== 'string' || configFile === '') return {};
  const text = await readFile(path.resolve(modelDir, configFile), 'utf8');
  // Loaded only for a model that has a config file: it is 15 ms of a worker's startup.
  const { parse } = await import('yaml');
  const parsed: unknown = parse(text);
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
}
