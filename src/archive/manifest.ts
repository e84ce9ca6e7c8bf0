// MAR-INF/MANIFEST.json: parse, default and validate the way TorchServe's frontend does (spec §1.2, §9.1).
import { invalidModel, invalidModelName } from '../errors.js';

/** `node` is Lantern's addition; the others are TorchServe's runtime names (case-sensitive). */
export type Runtime = 'python' | 'python3' | 'LSP' | 'node';

export const RUNTIMES: readonly Runtime[] = Object.freeze(['python', 'python3', 'LSP', 'node']);

export interface ManifestModel {
  modelName?: string;
  modelVersion: string;
  handler?: string;
  serializedFile?: string;
  modelFile?: string;
  requirementsFile?: string;
  configFile?: string;
  envelope?: string;
  description?: string;
  extensions?: string;
}

export interface Manifest {
  createdOn?: string;
  runtime: Runtime;
  archiverVersion?: string;
  model: ManifestModel;
}

export const DEFAULT_MODEL_VERSION = '1.0';

const PARSE_FAILED = 'Failed to parse signature.json.';
const MODEL_STRING_KEYS = [
  'modelName',
  'handler',
  'serializedFile',
  'modelFile',
  'requirementsFile',
  'configFile',
  'envelope',
  'description',
  'extensions',
] as const;

export function isRuntime(value: unknown): value is Runtime {
  return typeof value === 'string' && (RUNTIMES as readonly string[]).includes(value);
}

/** The manifest an archive without MAR-INF/MANIFEST.json gets. */
export function defaultManifest(): Manifest {
  return freezeManifest({ runtime: 'python', model: { modelVersion: DEFAULT_MODEL_VERSION } });
}

/**
 * Parses MANIFEST.json text. Mirrors TorchServe's Gson behaviour: absent keys keep their defaults
 * (runtime python, an empty model), explicit nulls and unknown runtimes fail validation, values of
 * the wrong shape fail parsing. The model-name check is left to the caller (see requireModelName),
 * because a registration's model_name may supply the name.
 */
export function parseManifest(text: string): Manifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalidModel(PARSE_FAILED, err);
  }
  if (!isPlainObject(parsed)) throw invalidModel(PARSE_FAILED);

  const model = parseModel(parsed['model']);
  const runtime = 'runtime' in parsed ? parsed['runtime'] : 'python';
  if (!isRuntime(runtime)) throw invalidModel('Runtime is not defined or invalid.');

  const manifest: Manifest = { runtime, model };
  const createdOn = optionalString(parsed, 'createdOn');
  const archiverVersion = optionalString(parsed, 'archiverVersion');
  if (createdOn !== undefined) manifest.createdOn = createdOn;
  if (archiverVersion !== undefined) manifest.archiverVersion = archiverVersion;
  return freezeManifest(manifest);
}

/** Throws TorchServe's "Model name is not defined." unless `name` is a non-empty string. */
/** torch-model-archiver's pattern for model names; Lantern also enforces it at registration. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const MODEL_NAME_MAX_LENGTH = 255;

export function requireModelName(name: string | null | undefined): string {
  if (name === null || name === undefined || name === '') throw invalidModel('Model name is not defined.');
  if (name.length > MODEL_NAME_MAX_LENGTH || !MODEL_NAME.test(name)) throw invalidModelName(name);
  return name;
}

function parseModel(value: unknown): ManifestModel {
  if (value === undefined) return { modelVersion: DEFAULT_MODEL_VERSION };
  if (value === null) throw invalidModel('Missing Model entry in manifest file.');
  if (!isPlainObject(value)) throw invalidModel(PARSE_FAILED);

  const modelVersion = optionalString(value, 'modelVersion') ?? DEFAULT_MODEL_VERSION;
  if (modelVersion === '') throw invalidModel('Model version is not defined.');
  const model: ManifestModel = { modelVersion };
  for (const key of MODEL_STRING_KEYS) {
    const field = optionalString(value, key);
    if (field !== undefined) model[key] = field;
  }
  return model;
}

/** A string field; numbers and booleans are coerced as Gson does for String fields; null counts as absent. */
function optionalString(object: Record<string, unknown>, key: string): string | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw invalidModel(PARSE_FAILED);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function freezeManifest(manifest: Manifest): Manifest {
  Object.freeze(manifest.model);
  return Object.freeze(manifest);
}
