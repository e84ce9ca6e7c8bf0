// The `lantern-archiver` command line: torch-model-archiver's flags (spec §9.4), parsed into
// typed options. Nothing here touches the file system.
import { parseArgs } from 'node:util';

export type ArchiveFormat = 'default' | 'tgz' | 'no-archive' | 'zip-store';
export type ArchiverRuntime = 'python' | 'python3' | 'LSP' | 'node';

export const ARCHIVE_FORMATS: readonly ArchiveFormat[] = ['default', 'tgz', 'no-archive', 'zip-store'];
export const ARCHIVER_RUNTIMES: readonly ArchiverRuntime[] = ['python', 'python3', 'LSP', 'node'];

export interface ArchiverOptions {
  readonly modelName: string;
  readonly version: string;
  readonly handler: string;
  readonly serializedFile: string | null;
  readonly modelFile: string | null;
  /** The comma-separated list as given. */
  readonly extraFiles: string | null;
  readonly runtime: ArchiverRuntime;
  readonly exportPath: string;
  readonly archiveFormat: ArchiveFormat;
  readonly force: boolean;
  readonly requirementsFile: string | null;
  readonly configFile: string | null;
}

export type ArchiverCommand = { readonly kind: 'help' } | { readonly kind: 'archive'; readonly options: ArchiverOptions };

/** A command line that cannot be run; the message is shown with a pointer to --help. */
export class ArchiverUsageError extends Error {}

export const ARCHIVER_USAGE = `Usage: lantern-archiver --model-name NAME -v VERSION --handler HANDLER [options]

Packs model files into a model archive that Lantern and TorchServe load (torch-model-archiver's flags).

Required:
  --model-name NAME            model name; the archive is NAME.mar (NAME.tar.gz for tgz, folder NAME
                               for no-archive). Letters, digits, '_', '-', '.'; starts with a letter or digit
  -v, --version VERSION        model version
  --handler HANDLER            a built-in handler name (base_handler, image_classifier, ...) or a handler
                               file (path/handler.py, optionally :function)

Options:
  --serialized-file FILE       weights: a TorchScript .pt, a state dict for --model-file, an .onnx file
  --model-file FILE            Python file with the model class (eager mode)
  --extra-files LIST           comma-separated files, folders (their contents) or glob patterns
  --runtime RUNTIME            python (default), python3, LSP, or node (Lantern's TypeScript/JavaScript workers)
  --export-path DIR            existing folder to write the archive to (default: the current folder)
  --archive-format FORMAT      default (.mar, deflated), zip-store (.mar, stored), tgz (.tar.gz),
                               no-archive (a folder)
  -f, --force                  replace an existing archive of the same name
  -r, --requirements-file FILE requirements.txt for per-model Python dependencies
  -c, --config-file FILE       model-config.yaml
  -h, --help                   show this help
`;

const REQUIRED = [
  ['model-name', '--model-name'],
  ['handler', '--handler'],
  ['version', '-v/--version'],
] as const;

export function parseArchiverArgs(argv: readonly string[], cwd: string): ArchiverCommand {
  let values: ReturnType<typeof parseRaw>;
  try {
    values = parseRaw(argv);
  } catch (err) {
    throw new ArchiverUsageError((err as Error).message.replace(/\. To specify a positional.*$/s, '.'));
  }
  if (values.help === true) return { kind: 'help' };
  const missing = REQUIRED.filter(([key]) => values[key] === undefined).map(([, flag]) => flag);
  if (missing.length > 0) throw new ArchiverUsageError(`the following arguments are required: ${missing.join(', ')}`);
  const runtime = values.runtime ?? 'python';
  if (!(ARCHIVER_RUNTIMES as readonly string[]).includes(runtime)) {
    throw new ArchiverUsageError(`--runtime: invalid choice: '${runtime}' (choose from ${ARCHIVER_RUNTIMES.join(', ')})`);
  }
  const format = values['archive-format'] ?? 'default';
  if (!(ARCHIVE_FORMATS as readonly string[]).includes(format)) {
    throw new ArchiverUsageError(`--archive-format: invalid choice: '${format}' (choose from ${ARCHIVE_FORMATS.join(', ')})`);
  }
  return {
    kind: 'archive',
    options: {
      modelName: values['model-name'] as string,
      version: values.version as string,
      handler: values.handler as string,
      serializedFile: values['serialized-file'] ?? null,
      modelFile: values['model-file'] ?? null,
      extraFiles: values['extra-files'] ?? null,
      runtime: runtime as ArchiverRuntime,
      exportPath: values['export-path'] ?? cwd,
      archiveFormat: format as ArchiveFormat,
      force: values.force === true,
      requirementsFile: values['requirements-file'] ?? null,
      configFile: values['config-file'] ?? null,
    },
  };
}

function parseRaw(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      'model-name': { type: 'string' },
      version: { type: 'string', short: 'v' },
      handler: { type: 'string' },
      'serialized-file': { type: 'string' },
      'model-file': { type: 'string' },
      'extra-files': { type: 'string' },
      runtime: { type: 'string' },
      'export-path': { type: 'string' },
      'archive-format': { type: 'string' },
      force: { type: 'boolean', short: 'f' },
      'requirements-file': { type: 'string', short: 'r' },
      'config-file': { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
}
