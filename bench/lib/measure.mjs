// Load generation (autocannon on 127.0.0.1) and resident-memory sampling of the processes under test.
import { readFile } from 'node:fs/promises';
import autocannon from 'autocannon';

/** Resident memory of a process in bytes; 0 when it cannot be read (gone, or not Linux). */
export async function rssOf(pid) {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/**
 * Samples the resident memory of `groups` (name → pids) every `everyMs` until stopped; reports the
 * peak of each group's sum, which is what "RSS under load" means here.
 */
export function sampleRss(groups, everyMs = 200) {
  const peak = Object.fromEntries(Object.keys(groups).map((k) => [k, 0]));
  const sample = async () => {
    for (const [name, pids] of Object.entries(groups)) {
      let sum = 0;
      for (const pid of pids) sum += await rssOf(pid);
      peak[name] = Math.max(peak[name], sum);
    }
  };
  const timer = setInterval(() => void sample(), everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await sample();
      return peak;
    },
  };
}

/** Drives `url` with `connections` keep-alive connections for `durationS` seconds. */
export async function load(url, { connections, durationS, body = '{}', contentType = 'application/json', timeoutS = 30 }) {
  const result = await autocannon({
    url,
    connections,
    duration: durationS,
    method: 'POST',
    body,
    headers: { 'content-type': contentType },
    timeout: timeoutS,
  });
  return {
    requestsPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** Percentile (0–100) of an array of numbers, nearest rank. */
export function percentile(values, p) {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
