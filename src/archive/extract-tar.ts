// Safe extraction of a gzip'd tar: the first path component of every entry is stripped (spec §9.3),
// links and special files are refused, and bytes are counted as they are unpacked.
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { ReadEntry } from 'tar';
import { invalidModel } from '../errors.js';
import {
  ExtractionBudget,
  extractIntoFreshDir,
  refuseEntry,
  resolveEntryPath,
  writeEntryFile,
  type ExtractLimits,
} from './extraction-guard.js';

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/** Extracts `archiveFile` (tar, normally gzip'd) into `dest` (created; must not exist). On failure `dest` is removed. */
export async function extractTarGz(archiveFile: string, dest: string, limits: ExtractLimits): Promise<void> {
  await extractIntoFreshDir(archiveFile, dest, (root) => unpack(archiveFile, root, new ExtractionBudget(limits)));
}

/** TorchServe drops everything up to and including the first `/`; a name without `/` is kept whole. */
export function stripFirstComponent(entryName: string): string {
  return entryName.slice(entryName.indexOf('/') + 1);
}

type Plan = { kind: 'skip' } | { kind: 'directory'; target: string } | { kind: 'file'; target: string; name: string };

function planEntry(entry: ReadEntry, root: string, budget: ExtractionBudget): Plan {
  const name = entry.path;
  budget.countEntry(name);
  if (entry.type === 'SymbolicLink' || entry.type === 'Link') throw refuseEntry(name, 'links are not allowed');
  const isDirectory = entry.type === 'Directory';
  if (!isDirectory && !FILE_TYPES.has(entry.type)) throw refuseEntry(name, `entry type ${entry.type} is not allowed`);
  // Check the name as written too, so `../x` cannot hide behind the stripping of its first component.
  resolveEntryPath(root, name);
  const target = resolveEntryPath(root, stripFirstComponent(name));
  if (target === null) {
    if (isDirectory) return { kind: 'skip' };
    throw refuseEntry(name, 'file entry without a name after stripping its top directory');
  }
  if (isDirectory) return { kind: 'directory', target };
  budget.checkDeclared(name, entry.size);
  return { kind: 'file', target, name };
}

async function unpack(archiveFile: string, root: string, budget: ExtractionBudget): Promise<void> {
  // Loaded on first use: most servers only ever see .mar files.
  const { Parser } = await import('tar');
  // Our budget counts real bytes, so tar's own ratio heuristic would only add false refusals.
  const parser = new Parser({ strict: true, maxDecompressionRatio: Number.POSITIVE_INFINITY });
  let failure: unknown = null;
  let signalFailure: () => void = () => {};
  const failed = new Promise<void>((resolve) => { signalFailure = resolve; });
  // Aborting stops a file write that waits for entry data which will never come (input cut off).
  const abortWrites = new AbortController();
  const fail = (err: unknown): void => {
    if (failure === null) failure = err;
    signalFailure();
    abortWrites.abort(err);
  };

  // Entries arrive one at a time (the parser waits for each to be consumed); the chain keeps writes in order.
  let chain: Promise<void> = Promise.resolve();
  parser.on('entry', (entry: ReadEntry) => {
    if (failure !== null) return void entry.resume();
    let plan: Plan;
    try {
      plan = planEntry(entry, root, budget);
    } catch (err) {
      fail(err);
      return void entry.resume();
    }
    chain = chain.then(() => applyPlan(plan, entry, budget, abortWrites.signal)).catch((err: unknown) => {
      fail(err);
      entry.resume();
    });
  });
  parser.on('error', (err: Error) => fail(invalidModel(`Corrupt tar.gz archive: ${err.message}`, err)));
  // Not events.once: it would also reject on 'error', unobserved until the input is consumed.
  const ended = new Promise<void>((resolve) => parser.once('end', () => resolve()));

  const input = createReadStream(archiveFile);
  try {
    for await (const chunk of input) {
      if (failure !== null) break;
      if (!parser.write(chunk as Buffer)) {
        await Promise.race([new Promise<void>((resolve) => parser.once('drain', () => resolve())), failed]);
      }
    }
    if (failure === null) {
      parser.end();
      await Promise.race([ended, failed]);
    }
    await chain;
  } finally {
    input.destroy();
  }
  if (failure !== null) throw failure;
}

async function applyPlan(plan: Plan, entry: ReadEntry, budget: ExtractionBudget, signal: AbortSignal): Promise<void> {
  switch (plan.kind) {
    case 'skip':
      entry.resume();
      return;
    case 'directory':
      entry.resume();
      await mkdir(plan.target, { recursive: true });
      return;
    case 'file':
      await writeEntryFile(async () => entry, plan.target, plan.name, budget, signal);
      return;
  }
}
