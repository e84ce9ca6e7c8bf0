// The Markdown table of a run: every scenario beside its ceiling, measured in the same run.

const num = (v, digits = 0) => (v === undefined || v === null ? '' : Number(v).toFixed(digits));
const mb = (v) => (v === undefined || v === null || v === 0 ? '' : (v / 1048576).toFixed(1));

function notes(r) {
  return [
    r.perRequestUs !== undefined ? `${num(r.perRequestUs, 1)} µs/request` : '',
    r.serverCpuUs !== undefined ? `CPU per request: server ${num(r.serverCpuUs)} µs${r.workerCpuUs !== undefined ? `, workers ${num(r.workerCpuUs)} µs` : ''}` : '',
    r.ceilingCpuUs !== undefined ? `bare server ${num(r.ceilingCpuUs)} µs (server ÷ bare ${num(r.serverCpuUs / r.ceilingCpuUs, 1)}×)` : '',
    r.overheadUs !== undefined ? `${num(r.overheadUs, 1)} µs above the floor` : '',
    r.registerMs !== undefined ? `register ${num(r.registerMs)} ms (median of ${r.registerSamples ?? 1}), scale 0→4 ${num(r.scaleMs)} ms` : '',
    r.coldStartMs !== undefined ? `${num(r.coldStartMs)} ms to first prediction` : '',
    r.batchingGain !== undefined ? `batch 8 / batch 1 = ${num(r.batchingGain, 2)}×` : '',
    r.runsPerSec !== undefined && r.batch > 1 ? `${num(r.runsPerSec, 1)} runs/s of ${r.batch}` : '',
    r.non2xx ? `${r.non2xx} non-2xx` : '',
    r.errors ? `${r.errors} errors` : '',
    r.note ?? '',
  ]
    .filter(Boolean)
    .join('; ');
}

export function markdownTable(report) {
  const lines = [
    `Run ${report.date}${report.smoke ? ' (smoke: numbers are not meaningful)' : ''}: ${report.machine.cpus} CPUs (${report.machine.cpuModel}), Node ${report.machine.node}, load average at start ${report.machine.loadAverage.map((l) => l.toFixed(2)).join(' ')}, ${report.durationS} s per load.`,
    '',
    '| scenario | req/s | ratio to ceiling | ceiling | p50 ms | p90 ms | p99 ms | server RSS MB | worker RSS MB | notes |',
    '|---|---:|---:|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of report.results) {
    const ceiling = r.ceiling === undefined ? '' : `${r.ceiling.name}: ${num(r.ceiling.requestsPerSec)} req/s`;
    lines.push(
      `| ${r.scenario} | ${num(r.requestsPerSec)} | ${r.ratioToCeiling === undefined ? '' : num(r.ratioToCeiling, 2)} | ${ceiling} | ` +
        `${num(r.p50Ms, 2)} | ${num(r.p90Ms, 2)} | ${num(r.p99Ms, 2)} | ${mb(r.serverRssBytes)} | ${mb(r.workerRssBytes)} | ${notes(r)} |`,
    );
  }
  if (report.skipped.length > 0) lines.push('', ...report.skipped.map((s) => `Skipped: ${s}`));
  return lines.join('\n');
}
