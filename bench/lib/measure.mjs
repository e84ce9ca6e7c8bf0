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

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU time (user + system) of `pids` in µs, summed; a process that is gone counts 0. */
export async function cpuUs(pids) {
  let sum = 0;
  for (const pid of pids) {
    try {
      const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
      sum += ((Number(fields[11]) + Number(fields[12])) * 1e6) / USER_HZ;
    } catch {
      // gone, or not Linux
    }
  }
  return sum;
}

/** Follows the CPU time of process groups (name → pids) across a load; stop() gives µs per request. */
export async function cpuMeter(groups) {
  const start = Object.fromEntries(await Promise.all(Object.entries(groups).map(async ([k, pids]) => [k, await cpuUs(pids)])));
  return {
    async stop(requests) {
      const perRequest = {};
      for (const [k, pids] of Object.entries(groups)) perRequest[k] = requests > 0 ? ((await cpuUs(pids)) - start[k]) / requests : 0;
      return perRequest;
    },
  };
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

/**
 * Drives `url` with `connections` keep-alive connections for `durationS` seconds. Latencies are
 * taken from autocannon's per-response event, in ms with sub-millisecond precision (its own
 * histogram keeps whole milliseconds, which reads 0 for most of these scenarios); like autocannon's,
 * they count 2xx responses only.
 */
export async function load(url, { connections, durationS, body = '{}', contentType = 'application/json', timeoutS = 30 }) {
  const latencies = new Latencies();
  const run = autocannon({
    url,
    connections,
    duration: durationS,
    method: 'POST',
    body,
    headers: { 'content-type': contentType },
    timeout: timeoutS,
  });
  run.on('response', (_client, status, _bytes, responseMs) => {
    if (status >= 200 && status < 300) latencies.add(responseMs);
  });
  const result = await run;
  const sorted = latencies.sorted();
  return {
    requestsPerSec: result.requests.average,
    p50Ms: sortedPercentile(sorted, 50),
    p90Ms: sortedPercentile(sorted, 90),
    p99Ms: sortedPercentile(sorted, 99),
    requests: result.requests.total,
    responses2xx: sorted.length,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** A growing list of numbers held unboxed (a load records a few hundred thousand). */
class Latencies {
  values = new Float64Array(1 << 16);
  count = 0;

  add(value) {
    if (this.count === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.count++] = value;
  }

  sorted() {
    return this.values.subarray(0, this.count).sort();
  }
}

/** Percentile (0–100) of numbers sorted ascending, nearest rank; 0 for none. */
function sortedPercentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Percentile (0–100) of an array of numbers, nearest rank. */
export function percentile(values, p) {
  return sortedPercentile(Float64Array.from(values).sort(), p);
}
