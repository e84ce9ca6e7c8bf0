// `lantern-archiver`: packs model files into a .mar (or .tar.gz, or a folder) with
// torch-model-archiver's flags, layout and MANIFEST.json.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ARCHIVER_USAGE, ArchiverUsageError, parseArchiverArgs, type ArchiverOptions } from './archiver-args.js';
import { manifestText } from './archiver-manifest.js';
import { ArchiverError, checkModelName, planArchive } from './archiver-plan.js';
import { outputPathOf, writeArchive } from './archiver-write.js';

export interface PackOptions {
  readonly cwd: string;
  /** Progress and warnings, one line each. */
  readonly report: (line: string) => void;
  /** Progress is shown when the files add up to at least this many bytes (default 32 MiB). */
  readonly progressMinBytes?: number;
  readonly now?: Date;
}

const DEFAULT_PROGRESS_MIN_BYTES = 32 * 1024 * 1024;

/** Makes the archive and returns its path. Throws ArchiverError for anything wrong with the inputs. */
export async function packModel(options: ArchiverOptions, pack: PackOptions): Promise<string> {
  checkModelName(options.modelName);
  const exportPath = path.resolve(pack.cwd, options.exportPath);
  if (!(await stat(exportPath).catch(() => null))?.isDirectory()) {
    throw new ArchiverError(
      `Given export-path ${options.exportPath} is not a directory. Point to a valid export-path directory.`,
    );
  }
  const outputPath = outputPathOf(exportPath, options.modelName, options.archiveFormat);
  if ((await stat(outputPath).catch(() => null)) !== null) {
    if (!options.force) {
      throw new ArchiverError(
        `${outputPath} already exists.\nPlease specify --force/-f option to overwrite the model archive output file.\n` +
          'See -h/--help for more details.',
      );
    }
    pack.report(`Overwriting ${outputPath} ...`);
  }
  const plan = await planArchive(options, pack.cwd);
  for (const warning of plan.warnings) pack.report(`WARNING - ${warning}`);
  await writeArchive({
    files: plan.files,
    manifest: manifestText(options, pack.now ?? new Date()),
    modelName: options.modelName,
    format: options.archiveFormat,
    outputPath,
    progressMinBytes: pack.progressMinBytes ?? DEFAULT_PROGRESS_MIN_BYTES,
    report: pack.report,
  });
  return outputPath;
}

export interface CliIo {
  readonly cwd: string;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** Runs the command line; returns the process exit code. */
export async function runArchiver(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const command = parseArchiverArgs(argv, io.cwd);
    if (command.kind === 'help') {
      io.out(ARCHIVER_USAGE);
      return 0;
    }
    const output = await packModel(command.options, { cwd: io.cwd, report: (line) => io.err(`${line}\n`) });
    io.out(`Created ${output}\n`);
    return 0;
  } catch (err) {
    if (err instanceof ArchiverUsageError) {
      io.err(`lantern-archiver: error: ${err.message}\nRun lantern-archiver --help for the options.\n`);
      return 2;
    }
    if (err instanceof ArchiverError) {
      io.err(`ERROR - ${err.message}\n`);
      return 1;
    }
    io.err(`ERROR - ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  process.exitCode = await runArchiver(argv, {
    cwd: process.cwd(),
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
}
