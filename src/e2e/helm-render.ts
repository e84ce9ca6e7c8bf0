// The deploy/ manifests in tests: `helm lint` and `helm template` on the chart (helm v4 from
// scripts/test-setup, on the PATH), each rendered document parsed with the yaml package, and the
// YAML files of deploy/kserve read the same way.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './harness.js';

export const CHART_DIR = path.join(REPO_ROOT, 'deploy', 'helm', 'lantern');
export const chartValues = (name: string): string => path.join(CHART_DIR, 'ci', `${name}-values.yaml`);

/** A Kubernetes object as rendered: only kind, apiVersion and metadata.name are sure to be there. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function helm(args: readonly string[]): Promise<HelmResult> {
  return new Promise((resolve, reject) => {
    execFile('helm', [...args], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') {
        reject(err);
        return;
      }
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

export function parseManifests(text: string): Manifest[] {
  const manifests: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const m = value as Manifest;
    if (typeof m.kind !== 'string' || typeof m.apiVersion !== 'string' || typeof m.metadata?.name !== 'string') {
      throw new Error(`a rendered document is not a Kubernetes object: ${JSON.stringify(value).slice(0, 200)}`);
    }
    manifests.push(m);
  }
  return manifests;
}

/** `helm template` of the chart with the named ci/ values files; throws with helm's message on failure. */
export async function renderChart(valuesNames: readonly string[], extraArgs: readonly string[] = []): Promise<Manifest[]> {
  const args = ['template', 'demo', CHART_DIR, '--namespace', 'serving', ...valuesNames.flatMap((v) => ['--values', chartValues(v)]), ...extraArgs];
  const result = await helm(args);
  if (result.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${result.code}):\n${result.stderr}`);
  return parseManifests(result.stdout);
}

export async function readManifests(file: string): Promise<Manifest[]> {
  return parseManifests(await readFile(file, 'utf8'));
}

export function only(manifests: readonly Manifest[], kind: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0] as Manifest;
}

/** A field deep in an object, by path; undefined when any step is missing. */
export function at(value: unknown, ...steps: ReadonlyArray<string | number>): unknown {
  let current: unknown = value;
  for (const step of steps) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

/** A config.properties text as key → value (the last line of a key wins, as in Java's Properties). */
export function propertiesOf(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) map.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return map;
}
