// Parsers from a configuration string to a typed value. Values are trimmed first: Java would keep
// trailing blanks (so `true ` is false there), which only ever surprises people.

import type { Parser } from './parse-result.js';
import { fail, ok } from './parse-result.js';

/** Like Java's Boolean.parseBoolean: case-insensitive `true` is true, anything else is false. */
export const isTrue = (raw: string): boolean => raw.trim().toLowerCase() === 'true';

export const parseBoolean: Parser<boolean> = (raw) => ok(isTrue(raw));

export interface IntegerBounds {
  readonly min?: number;
  readonly max?: number;
}

const INTEGER = /^[+-]?\d+$/;

export function integerParser(bounds: IntegerBounds = {}): Parser<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = bounds;
  return (raw) => {
    const text = raw.trim();
    if (!INTEGER.test(text)) return fail('not an integer');
    const value = Number(text);
    if (!Number.isSafeInteger(value)) return fail('integer out of range');
    if (value < min) return fail(`must be at least ${min}`);
    if (value > max) return fail(`must be at most ${max}`);
    return ok(value);
  };
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A decimal number (Java double), strictly positive. */
export const parsePositiveNumber: Parser<number> = (raw) => {
  const text = raw.trim();
  if (!DECIMAL.test(text)) return fail('not a number');
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) return fail('must be a positive number');
  return ok(value);
};

/** A free-form string; blank means "not set". */
export const parseOptionalString: Parser<string | null> = (raw) => {
  const text = raw.trim();
  return ok(text === '' ? null : text);
};

export const SERVICE_ENVELOPES = ['body', 'json', 'kserve', 'kservev2'] as const;
export type ServiceEnvelope = (typeof SERVICE_ENVELOPES)[number];

/** `service_envelope`: one of TorchServe's request envelopes, or none. */
export const parseServiceEnvelope: Parser<ServiceEnvelope | null> = (raw) => {
  const text = raw.trim();
  if (text === '') return ok(null);
  const envelope = SERVICE_ENVELOPES.find((candidate) => candidate === text);
  return envelope !== undefined ? ok(envelope) : fail(`must be one of ${SERVICE_ENVELOPES.join(', ')}`);
};

export const parseRequiredString: Parser<string> = (raw) => {
  const text = raw.trim();
  return text === '' ? fail('must not be empty') : ok(text);
};

/** Comma-separated list; blanks around entries and empty entries are dropped. */
export function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** A startup model: `url` or `name=url` (split at the first `=`). */
export interface StartupModel {
  readonly name: string | null;
  readonly url: string;
}

/** `all` (case-insensitive) loads everything in the model store; otherwise a list (possibly empty). */
export type LoadModels = 'all' | readonly StartupModel[];

export const parseLoadModels: Parser<LoadModels> = (raw) => {
  if (raw.trim().toLowerCase() === 'all') return ok('all');
  const models: StartupModel[] = [];
  for (const entry of splitList(raw)) {
    const equals = entry.indexOf('=');
    const name = equals < 0 ? null : entry.slice(0, equals).trim();
    const url = equals < 0 ? entry : entry.slice(equals + 1).trim();
    if (name === '' || url === '') return fail(`entry "${entry}" must be url or name=url`);
    models.push({ name, url });
  }
  return ok(models);
};

export type JsonObject = { readonly [key: string]: unknown };

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON object; blank means "not set". */
export const parseJsonObject: Parser<JsonObject | null> = (raw) => {
  if (raw.trim() === '') return ok(null);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return fail(`invalid JSON: ${(err as Error).message}`);
  }
  return isJsonObject(value) ? ok(value) : fail('must be a JSON object');
};

/** `models`: {name: {version: {minWorkers, maxWorkers, batchSize, ...}}} (spec §5.2). */
export type ModelsSettings = {
  readonly [name: string]: { readonly [version: string]: JsonObject };
};

export const parseModelsSettings: Parser<ModelsSettings | null> = (raw) => {
  const parsed = parseJsonObject(raw);
  if (!parsed.ok) return parsed;
  if (parsed.value === null) return ok(null);
  for (const [name, versions] of Object.entries(parsed.value)) {
    if (!isJsonObject(versions)) return fail(`model "${name}" must map versions to objects`);
    for (const [version, settings] of Object.entries(versions)) {
      if (!isJsonObject(settings)) return fail(`model "${name}" version "${version}" must be an object`);
    }
  }
  return ok(parsed.value as ModelsSettings);
};

function compileFullMatch(pattern: string, flags = ''): RegExp | string {
  try {
    return new RegExp(`^(?:${pattern})$`, flags);
  } catch (err) {
    return (err as Error).message;
  }
}

/** Comma-separated regular expressions, each matched against the whole URL. */
export const parseUrlPatterns: Parser<readonly RegExp[]> = (raw) => {
  const patterns: RegExp[] = [];
  for (const entry of splitList(raw)) {
    // TorchServe matches allowed_urls case-insensitively; a Java `(?i)` prefix says the same.
    const compiled = compileFullMatch(entry.replace(/^\(\?i\)/, ''), 'i');
    if (typeof compiled === 'string') return fail(`invalid pattern "${entry}": ${compiled}`);
    patterns.push(compiled);
  }
  return ok(patterns);
};

/** One regular expression matched against whole names; blank means none. */
export const parseOptionalPattern: Parser<RegExp | null> = (raw) => {
  const text = raw.trim();
  if (text === '') return ok(null);
  const compiled = compileFullMatch(text);
  return typeof compiled === 'string' ? fail(`invalid pattern: ${compiled}`) : ok(compiled);
};

export type MetricsMode = 'log' | 'prometheus' | 'legacy';
const METRICS_MODES: readonly MetricsMode[] = ['log', 'prometheus', 'legacy'];

/** TorchServe falls back to `log` on an unknown mode; we do too, but say so. */
export const parseMetricsMode: Parser<MetricsMode> = (raw) => {
  const text = raw.trim().toLowerCase();
  const mode = METRICS_MODES.find((candidate) => candidate === text);
  return mode !== undefined
    ? ok(mode)
    : ok('log', `metrics_mode "${raw.trim()}" is not one of log, prometheus, legacy; using log`);
};
