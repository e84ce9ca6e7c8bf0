// Summarises V8 .cpuprofile files (node --cpu-prof): the functions with the most self time, and
// the share of idle, GC and native code. Used to guide hot-path work (docs/performance.md).
//   node bench/profile-summary.mjs FILE.cpuprofile [...] [--top N] [--by-file]
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
const byFile = args.includes('--by-file');
const files = args.filter((a, i) => a !== '--top' && a !== '--by-file' && (topIndex < 0 || i !== topIndex + 1));

for (const file of files) {
  const profile = JSON.parse(await readFile(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  // timeDeltas[i] is the time before samples[i]; attribute it to that sample's node.
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  });
  const byFunction = new Map();
  for (const [id, us] of selfUs) {
    const { callFrame } = nodes.get(id);
    const where = callFrame.url ? `${path.basename(callFrame.url)}:${callFrame.lineNumber + 1}` : '';
    const key = byFile && callFrame.url ? path.basename(callFrame.url) : `${callFrame.functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  const rows = [...byFunction].sort((a, b) => b[1] - a[1]);
  const share = (us) => `${((100 * us) / total).toFixed(1)}%`.padStart(6);
  const idle = byFunction.get('(idle)') ?? 0;
  console.log(`\n${file}: ${(total / 1e6).toFixed(2)} s sampled, ${share(total - idle).trim()} busy`);
  for (const [key, us] of rows.slice(0, top)) console.log(`${share(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`);
}
