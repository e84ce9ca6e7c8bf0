// model-config.yaml's stateful keys (TorchServe 0.11+): sequenceBatching, maxNumSequence,
// maxSequenceJobQueueSize, sequenceMaxIdleMSec, sequenceTimeoutMSec, continuousBatching.
import type { SequenceSettings } from '../batching/sequence-queue.js';

/** What describe reports, as TorchServe computes it: the yaml values only when sequenceMaxIdleMSec > 0, else 0. */
export interface DescribedSequenceFields {
  readonly stateful: boolean;
  readonly sequenceMaxIdleMSec: number;
  readonly sequenceTimeoutMSec: number;
  readonly maxNumSequence: number;
  readonly maxSequenceJobQueueSize: number;
}

type Yaml = Readonly<Record<string, unknown>> | null | undefined;

/** An integer yaml value (TorchServe reads these keys as int), or `fallback`. */
function integer(yaml: Yaml, key: string, fallback: number): number {
  const value = yaml?.[key];
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : fallback;
}

function limits(yaml: Yaml): { idleMs: number; timeoutMs: number; maxNum: number; maxQueue: number } {
  return {
    idleMs: Math.max(0, integer(yaml, 'sequenceMaxIdleMSec', 0)),
    timeoutMs: Math.max(0, integer(yaml, 'sequenceTimeoutMSec', 0)),
    maxNum: Math.max(1, integer(yaml, 'maxNumSequence', 1)),
    maxQueue: Math.max(1, integer(yaml, 'maxSequenceJobQueueSize', 1)),
  };
}

export function isStateful(yaml: Yaml): boolean {
  return yaml?.sequenceBatching === true;
}

/**
 * The sequence queue's settings for a stateful model, null for a stateless one. A
 * sequenceMaxIdleMSec of 0 means sequences do not idle out (TorchServe answers every request 500 then).
 */
export function sequenceSettings(yaml: Yaml, minWorkers: number): SequenceSettings | null {
  if (!isStateful(yaml)) return null;
  const { idleMs, timeoutMs, maxNum, maxQueue } = limits(yaml);
  return {
    maxNumSequence: maxNum,
    maxSequenceJobQueueSize: maxQueue,
    sequenceMaxIdleMs: idleMs,
    sequenceTimeoutMs: timeoutMs,
    perWorker: Math.max(1, Math.floor(maxNum / Math.max(1, minWorkers))),
    continuous: yaml?.continuousBatching === true,
  };
}

export function describedSequenceFields(yaml: Yaml): DescribedSequenceFields {
  const { idleMs, timeoutMs, maxNum, maxQueue } = limits(yaml);
  const set = idleMs > 0;
  return {
    stateful: isStateful(yaml),
    sequenceMaxIdleMSec: set ? idleMs : 0,
    sequenceTimeoutMSec: set ? timeoutMs : 0,
    maxNumSequence: set ? maxNum : 0,
    maxSequenceJobQueueSize: set ? maxQueue : 0,
  };
}
