// The describe document of one model version (spec §1.5), fields in TorchServe's order.
import type { ServedModel } from './served-model.js';

export interface DescribedWorker {
  id: string;
  startTime: string;
  status: string;
  memoryUsage: number;
  pid: number;
  gpu: boolean;
  gpuUsage: string;
}

export interface DescribedModel {
  modelName: string;
  modelVersion: string;
  modelUrl: string;
  runtime: string;
  minWorkers: number;
  maxWorkers: number;
  batchSize: number;
  maxBatchDelay: number;
  responseTimeout: number;
  startupTimeout: number;
  maxRetryTimeoutInSec: number;
  clientTimeoutInMills: number;
  parallelType: string;
  parallelLevel: number;
  deviceType: string;
  continuousBatching: boolean;
  useJobTicket: boolean;
  useVenv: boolean;
  stateful: boolean;
  sequenceMaxIdleMSec: number;
  sequenceTimeoutMSec: number;
  maxNumSequence: number;
  maxSequenceJobQueueSize: number;
  loadedAtStartup: boolean;
  workers: DescribedWorker[];
  jobQueueStatus: { remainingCapacity: number; pendingRequests: number };
  customizedMetadata?: unknown;
}

/** `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`, in UTC. */
export function formatDate(date: Date): string {
  return date.toISOString();
}

export async function describeModel(model: ServedModel): Promise<DescribedModel> {
  const { settings } = model;
  const yaml = model.archive.config;
  const workers = await model.pool.describeWorkers();
  return {
    modelName: model.name,
    modelVersion: model.version,
    modelUrl: model.archive.url,
    runtime: model.runtime,
    minWorkers: model.workers.min,
    maxWorkers: model.workers.max,
    batchSize: settings.batchSize,
    maxBatchDelay: settings.maxBatchDelayMs,
    responseTimeout: settings.responseTimeoutSec,
    startupTimeout: settings.startupTimeoutSec,
    maxRetryTimeoutInSec: settings.maxRetryTimeoutSec,
    clientTimeoutInMills: settings.clientTimeoutMs,
    parallelType: '',
    parallelLevel: 0,
    deviceType: 'cpu',
    continuousBatching: yaml?.continuousBatching ?? false,
    useJobTicket: yaml?.useJobTicket ?? false,
    useVenv: false,
    stateful: false,
    sequenceMaxIdleMSec: 0,
    sequenceTimeoutMSec: 0,
    maxNumSequence: 0,
    maxSequenceJobQueueSize: 0,
    loadedAtStartup: model.loadedAtStartup,
    workers: workers.map((w) => ({
      id: w.id,
      startTime: formatDate(w.startTime),
      status: w.status,
      memoryUsage: w.memoryUsage,
      pid: w.pid,
      gpu: false,
      gpuUsage: 'N/A',
    })),
    jobQueueStatus: { remainingCapacity: model.queue.remainingCapacity, pendingRequests: model.queue.pending },
  };
}
