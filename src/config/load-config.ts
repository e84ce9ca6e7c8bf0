// The pure configuration loader: defaults < config.properties < CLI < TS_* environment (spec §5.1).
// No I/O here: main.ts reads the file and hands over argv-derived values and process.env.

import type { ConfigKey, ConfigValues, KeySpec } from './key-table.js';
import { KEY_TABLE, configKeys, isConfigKey, keySpec } from './key-table.js';
import { PropertiesSyntaxError, parseProperties, substituteEnvVars } from './properties.js';
import { deepFreeze } from './deep-freeze.js';
import { isTrue } from './value-parsers.js';

export type ConfigSource = 'file' | 'cli' | 'env';

export interface ConfigProblem {
  /** The property name, or `(config file)` when the file itself cannot be read as properties. */
  readonly key: string;
  readonly value: string;
  /** Where the value came from; for `env`, the variable's name. */
  readonly source: ConfigSource;
  readonly envName?: string | undefined;
  readonly reason: string;
}

/** Every invalid value found, reported together. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(['Invalid configuration:', ...problems.map(describeProblem)].join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function describeProblem(problem: ConfigProblem): string {
  const from =
    problem.source === 'file'
      ? 'config file'
      : problem.source === 'cli'
        ? 'command line'
        : `environment ${problem.envName ?? ''}`;
  return `  ${problem.key} = ${JSON.stringify(problem.value)} (${from}): ${problem.reason}`;
}

/**
 * Typed values by key (snake_case, as in the key table), plus `properties`: the effective raw
 * properties — every file entry (unknown keys included, after `$$VAR$$` substitution) overridden by
 * CLI and environment values — in first-set order. Defaults are not in `properties`. Snapshots write it.
 */
export type Config = ConfigValues & { readonly properties: ReadonlyMap<string, string> };

export interface LoadConfigInput {
  /** config.properties (or snapshot) text; null when there is no file. */
  readonly fileText: string | null;
  /** Raw values from command-line flags, by key (`--models a b` → `load_models: 'a,b'`). */
  readonly cli: Partial<Record<ConfigKey, string>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * The file is a snapshot restored automatically (not named by --ts-config or TS_CONFIG_FILE):
   * its security switches are not taken from it (NOT_RESTORED).
   */
  readonly fileIsRestoredSnapshot?: boolean;
}

/**
 * Security switches that only this start may set (its flags, env, or a config file it names): one
 * start with --disable-token-auth must not leave every later plain start unauthenticated.
 */
export const NOT_RESTORED: readonly ConfigKey[] = ['disable_token_authorization', 'enable_model_api'];

export interface LoadedConfig {
  readonly config: Config;
  readonly warnings: string[];
}

interface RawValue {
  readonly value: string;
  readonly source: ConfigSource;
  readonly envName?: string | undefined;
}

type Env = LoadConfigInput['env'];

const envValue = (env: Env, name: string): string | undefined => (Object.hasOwn(env, name) ? env[name] : undefined);

function readFile(fileText: string, env: Env, raw: Map<string, RawValue>, problems: ConfigProblem[], warnings: string[], skipped: ReadonlySet<string>): void {
  let entries: Map<string, string>;
  try {
    entries = parseProperties(fileText);
  } catch (err) {
    if (!(err instanceof PropertiesSyntaxError)) throw err;
    problems.push({ key: '(config file)', value: '', source: 'file', reason: err.message });
    return;
  }
  for (const [name, text] of entries) {
    if (skipped.has(name)) continue;
    const substituted = substituteEnvVars(text, env);
    if (!substituted.ok) {
      problems.push({ key: name, value: text, source: 'file', reason: substituted.error });
      continue;
    }
    if (!isConfigKey(name)) warnings.push(`Unknown configuration key "${name}" ignored`);
    raw.set(name, { value: substituted.value, source: 'file' });
  }
}

function readCli(cli: LoadConfigInput['cli'], raw: Map<string, RawValue>, warnings: string[]): void {
  for (const [name, value] of Object.entries(cli)) {
    if (value === undefined) continue;
    if (!isConfigKey(name)) {
      warnings.push(`Unknown configuration key "${name}" ignored`);
      continue;
    }
    raw.set(name, { value, source: 'cli' });
  }
}

/** env > CLI > file, and only when enable_envvars_config=true (from file or CLI). */
function readEnv(env: Env, raw: Map<string, RawValue>): void {
  const gate = (name: ConfigKey): boolean => isTrue(raw.get(name)?.value ?? 'false');
  const envEnabled = gate('enable_envvars_config');
  const envAllowedUrls = gate('use_env_allowed_urls');
  for (const name of configKeys()) {
    const spec = keySpec(name);
    if (spec.env === null) continue;
    const value = envValue(env, spec.env);
    if (value === undefined) continue;
    if (spec.envAlways !== undefined) {
      raw.set(name, { value: spec.envAlways(value), source: 'env', envName: spec.env });
    } else if (envEnabled && (name !== 'allowed_urls' || envAllowedUrls)) {
      raw.set(name, { value, source: 'env', envName: spec.env });
    }
  }
}

function parseAll(raw: Map<string, RawValue>, problems: ConfigProblem[], warnings: string[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const name of configKeys()) {
    const spec: KeySpec<unknown> = KEY_TABLE[name];
    const given = raw.get(name);
    if (given === undefined) {
      values[name] = deepFreeze(spec.default);
      continue;
    }
    const parsed = spec.parse(given.value);
    if (parsed.ok) {
      values[name] = deepFreeze(parsed.value);
      if (parsed.warning !== undefined) warnings.push(parsed.warning);
    } else {
      problems.push({ key: name, value: given.value, source: given.source, envName: given.envName, reason: parsed.error });
    }
  }
  return values;
}

export function loadConfig(input: LoadConfigInput): LoadedConfig {
  const raw = new Map<string, RawValue>();
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const skipped = new Set<string>(input.fileIsRestoredSnapshot === true ? NOT_RESTORED : []);
  if (input.fileText !== null) readFile(input.fileText, input.env, raw, problems, warnings, skipped);
  readCli(input.cli, raw, warnings);
  readEnv(input.env, raw);
  const values = parseAll(raw, problems, warnings);
  if (problems.length > 0) throw new ConfigError(problems);
  values['workflow_store'] ??= values['model_store'];
  const properties: ReadonlyMap<string, string> = new Map([...raw].map(([name, { value }]) => [name, value]));
  const config = Object.freeze({ ...values, properties }) as Config;
  return { config, warnings };
}
