// `[METRICS]` lines that handlers print (through `context.metrics`) on the worker's stdout or
// stderr: `[METRICS]<Name>.<Unit>:<value>|#<Dim>:<v>,...[|#type:<TYPE>]|#hostname:<host>,<time>[,<request ids>]`.
import type { MetricType } from './prometheus-text.js';

export interface BackendMetric {
  readonly name: string;
  readonly unit: string;
  readonly value: number;
  readonly dimensions: ReadonlyArray<readonly [string, string]>;
  /** null when the line has no `#type:` part (counted as a counter, as TorchServe does). */
  readonly type: MetricType | null;
  readonly hostname: string;
  readonly requestIds: string | null;
  /** The line's dimensions and host name as written: the same text for the same label set. */
  readonly labelText: string;
}

const METRICS_LINE = /^(?:INFO > )?\[METRICS\](.*)$/;
const BODY = /^\s*([\w\s]+)\.([\w\s]+):([0-9\-,.e]+)\|#([^|]*)(?:\|#type:([^|,]+))?\|#hostname:([^,]+),([^,]+)(?:,(.*))?$/;

/** Whether a worker output line is a metrics line at all (such lines never go to the model log). */
export const isMetricsLine = (line: string): boolean => METRICS_LINE.test(line);

/** The metric on a `[METRICS]` line; null when the line is not one or does not parse. */
export function parseBackendMetric(line: string): BackendMetric | null {
  const body = METRICS_LINE.exec(line)?.[1];
  if (body === undefined) return null;
  const m = BODY.exec(body);
  if (m === null) return null;
  const [, name = '', unit = '', rawValue = '', dims = '', rawType, hostname = '', , requestIds] = m;
  const value = Number(rawValue);
  if (!Number.isFinite(value)) return null;
  const type = rawType === undefined ? null : rawType.trim().toLowerCase();
  if (type !== null && type !== 'counter' && type !== 'gauge' && type !== 'histogram') return null;
  const dimensions: Array<readonly [string, string]> = [];
  for (const pair of dims.split(',')) {
    const parts = pair.split(':');
    if (parts.length === 2) dimensions.push([parts[0] as string, parts[1] as string]);
  }
  return {
    name,
    unit,
    value,
    dimensions,
    type,
    hostname,
    requestIds: requestIds === undefined || requestIds === '' ? null : requestIds,
    labelText: `${dims}|${hostname}`,
  };
}
