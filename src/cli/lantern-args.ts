// The `lantern` command line: TorchServe's flags (spec §5.3), parsed into an action and the
// raw configuration values that the flags set.
import { configKeys, keySpec, type ConfigKey } from '../config/key-table.js';

export type Action = 'start' | 'stop' | 'version' | 'help';

export interface LanternArgs {
  readonly action: Action;
  readonly foreground: boolean;
  readonly tsConfig: string | null;
  readonly noSnapshots: boolean;
  readonly cli: Partial<Record<ConfigKey, string>>;
  readonly warnings: readonly string[];
}

export class UsageError extends Error {}

export const USAGE = `Usage: lantern [--start | --stop | --version] [options]

Serve machine learning models over TorchServe's APIs.

Actions (default: --start):
  --start                      start Lantern (in the background unless --foreground)
  --stop                       stop the Lantern started in the background
  -v, --version                print the version

Options:
  --model-store DIR            model store folder (required unless model_store is in --ts-config)
  --models M [M ...]           models to load at start: name=path.mar, path, a directory, or all
  --ts-config FILE             config.properties to read (env TS_CONFIG_FILE wins over it)
  --foreground                 run in this process; signals sent to it reach the server
  --ncs, --no-config-snapshots do not write or restore config snapshots
  --enable-model-api           allow registering and unregistering models over the API
  --disable-token-auth, --dt   turn token authorization off (on by default; keys in ./key_file.json)
  --python PATH                Python interpreter for Python workers (default: python3)
  --workflow-store DIR         accepted for compatibility; workflows are not supported
  --log-config FILE            accepted for compatibility; ignored
  -h, --help                   show this help

As with torchserve, a value may follow its flag after '=' (--model-store=DIR), and a long flag
may be shortened while it stays unambiguous (--fore for --foreground).
`;

type Arity = 'none' | 'one' | 'many';

interface Flag {
  readonly names: readonly string[];
  readonly arity: Arity;
  readonly apply: (state: ParseState, values: readonly string[], given: string) => void;
}

interface ParseState {
  action: Action | null;
  foreground: boolean;
  tsConfig: string | null;
  noSnapshots: boolean;
  readonly cli: Partial<Record<ConfigKey, string>>;
  readonly warnings: string[];
}

function setAction(state: ParseState, action: Action): void {
  if (state.action !== null && state.action !== action) throw new UsageError(`--${state.action} and --${action} cannot be used together`);
  state.action = action;
}

/** Flags that set configuration keys come from the key table (cliFlags); booleans take no value. */
function configFlags(): Flag[] {
  return configKeys().flatMap((name): Flag[] => {
    const spec = keySpec(name);
    if (spec.cliFlags === undefined) return [];
    const arity: Arity = name === 'load_models' ? 'many' : spec.default === false ? 'none' : 'one';
    return [{ names: spec.cliFlags, arity, apply: (state, values) => (state.cli[name] = arity === 'none' ? 'true' : values.join(',')) }];
  });
}

const FLAGS: readonly Flag[] = [
  { names: ['--start'], arity: 'none', apply: (s) => setAction(s, 'start') },
  { names: ['--stop'], arity: 'none', apply: (s) => setAction(s, 'stop') },
  { names: ['-v', '--version'], arity: 'none', apply: (s) => setAction(s, 'version') },
  { names: ['-h', '--help'], arity: 'none', apply: (s) => setAction(s, 'help') },
  { names: ['--foreground'], arity: 'none', apply: (s) => (s.foreground = true) },
  { names: ['--ncs', '--no-config-snapshots'], arity: 'none', apply: (s) => (s.noSnapshots = true) },
  { names: ['--ts-config'], arity: 'one', apply: (s, [v]) => (s.tsConfig = v ?? null) },
  {
    names: ['--log-config', '--cpp-log-config', '--plugins-path', '--ppath'],
    arity: 'one',
    apply: (s, [v], given) => s.warnings.push(`${given} ${v ?? ''} is accepted for compatibility and ignored`),
  },
  ...configFlags(),
];

/**
 * The flag `name` stands for: an exact name, or as torchserve's argparse allows, the one long flag
 * it is an unambiguous prefix of.
 */
function findFlag(name: string): { flag: Flag; canonical: string } {
  for (const flag of FLAGS) if (flag.names.includes(name)) return { flag, canonical: name };
  if (name.startsWith('--') && name.length > 2) {
    const matches = FLAGS.flatMap((flag) => flag.names.filter((n) => n.startsWith(name)).map((n) => ({ flag, canonical: n })));
    const distinct = new Set(matches.map((m) => m.flag));
    if (distinct.size === 1 && matches[0] !== undefined) return matches[0];
    if (distinct.size > 1) throw new UsageError(`Ambiguous argument: ${name} could match ${matches.map((m) => m.canonical).join(', ')}`);
  }
  throw new UsageError(`Unknown argument: ${name}`);
}

/** TorchServe's command line, with argparse's `--flag=value` form and unambiguous prefixes. */
export function parseLanternArgs(argv: readonly string[]): LanternArgs {
  const state: ParseState = { action: null, foreground: false, tsConfig: null, noSnapshots: false, cli: {}, warnings: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const { flag, canonical } = findFlag(name);
    const values: string[] = [];
    if (eq > 0) {
      if (flag.arity === 'none') throw new UsageError(`${canonical} takes no value`);
      values.push(arg.slice(eq + 1));
    } else if (flag.arity !== 'none') {
      while (argv[i + 1] !== undefined && !(argv[i + 1] as string).startsWith('-') && (flag.arity === 'many' || values.length === 0)) {
        values.push(argv[++i] as string);
      }
    }
    if (flag.arity !== 'none' && (values.length === 0 || values.some((v) => v === ''))) {
      throw new UsageError(flag.arity === 'many' ? `${canonical} needs at least one model` : `${canonical} needs a value`);
    }
    flag.apply(state, values, canonical);
  }
  const { action, foreground, tsConfig, noSnapshots, cli, warnings } = state;
  return { action: action ?? 'start', foreground, tsConfig, noSnapshots, cli, warnings };
}
