// install_py_dep_per_model=true (spec §1.2): an archive's requirements file is pip-installed into a
// folder of its own, which its Python workers get on PYTHONPATH. Each model version has its own
// folder, so two models may pin different versions of a package.
import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';

export interface PipInstall {
  /** The interpreter the model's workers run (its pip installs the packages). */
  readonly python: string;
  readonly requirementsFile: string;
  readonly targetDir: string;
  /** The workers' environment (PIP_* variables reach pip, e.g. PIP_INDEX_URL, PIP_FIND_LINKS). */
  readonly env: Readonly<Record<string, string>>;
  /** The model's folder: pip runs there, so relative paths in the requirements file resolve in it. */
  readonly cwd: string;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

/**
 * Runs `python -m pip install -U -t <targetDir> -r <requirementsFile>`. Resolves when pip succeeds;
 * otherwise removes the folder and rejects with an Error that quotes pip's last output lines.
 */
export async function installPythonDependencies(install: PipInstall): Promise<void> {
  await mkdir(install.targetDir, { recursive: true });
  const args = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-U', '-t', install.targetDir, '-r', install.requirementsFile];
  install.log(`Installing the model's Python dependencies: ${install.python} ${args.join(' ')}`);
  const tail: string[] = [];
  try {
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(install.python, args, {
        cwd: install.cwd,
        env: { ...install.env, PYTHONUNBUFFERED: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(install.signal === undefined ? {} : { signal: install.signal }),
      });
      for (const stream of [child.stdout, child.stderr]) {
        createInterface({ input: stream }).on('line', (line) => {
          install.log(`pip: ${line}`);
          tail.push(line);
          if (tail.length > 5) tail.shift();
        });
      }
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (exitCode !== 0) throw new Error(`pip exited with code ${exitCode}: ${tail.join(' | ')}`);
  } catch (err) {
    await rm(install.targetDir, { recursive: true, force: true });
    throw err;
  }
}
