// The `lantern` command line: TorchServe's flags (spec §5.3), parsed into an action and the
// raw configuration values that the flags set.
import type { ConfigKey } from '../config/key-table.js';

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
`;

export function parseLanternArgs(argv: readonly string[]): LanternArgs {
  let action: Action | null = null;
  let foreground = false;
  let tsConfig: string | null = null;
  let noSnapshots = false;
  const cli: Partial<Record<ConfigKey, string>> = {};
  const warnings: string[] = [];
  const setAction = (a: Action): void => {
    if (action !== null && action !== a) throw new UsageError(`--${action} and --${a} cannot be used together`);
    action = a;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string => {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      i++;
      return v;
    };
    switch (arg) {
      case '--start': setAction('start'); break;
      case '--stop': setAction('stop'); break;
      case '-v': case '--version': setAction('version'); break;
      case '-h': case '--help': setAction('help'); break;
      case '--foreground': foreground = true; break;
      case '--ncs': case '--no-config-snapshots': noSnapshots = true; break;
      case '--enable-model-api': cli.enable_model_api = 'true'; break;
      case '--dt': case '--disable-token-auth': cli.disable_token_authorization = 'true'; break;
      case '--model-store': cli.model_store = value(); break;
      case '--workflow-store': cli.workflow_store = value(); break;
      case '--python': cli.python = value(); break;
      case '--ts-config': tsConfig = value(); break;
      case '--log-config': case '--cpp-log-config': case '--plugins-path': case '--ppath':
        warnings.push(`${arg} ${value()} is accepted for compatibility and ignored`);
        break;
      case '--models': {
        const models: string[] = [];
        while (argv[i + 1] !== undefined && !(argv[i + 1] as string).startsWith('-')) models.push(argv[++i] as string);
        if (models.length === 0) throw new UsageError('--models needs at least one model');
        cli.load_models = models.join(',');
        break;
      }
      default:
        throw new UsageError(`Unknown argument: ${arg}`);
    }
  }
  return { action: action ?? 'start', foreground, tsConfig, noSnapshots, cli, warnings };
}
