// Inference use cases (spec §2): route a parsed request to its model version's queue, health.
import { noWorker, noWorkerForDescribe, type ServeError } from '../errors.js';
import type { Clock } from '../batching/clock.js';
import { Job, type JobSink } from '../batching/job.js';
import type { InferenceRequest, ResponseEntry } from '../protocol/messages.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { ServedModel } from './served-model.js';

export type Health = 'Healthy' | 'Unhealthy';

export class InferenceService {
  constructor(
    private readonly registry: ModelRegistry<ServedModel>,
    private readonly clock: Clock,
  ) {}

  /**
   * Queues a prediction. Throws when the model or version is unknown, or when it has no
   * workers or a full queue. Returns a function that withdraws the request if it is still queued.
   */
  submit(name: string, version: string | null, request: InferenceRequest, sink: JobSink): () => void {
    const model = this.registry.get(name, version ?? undefined);
    const job = new Job(request, 'predict', this.clock.now(), sink);
    if (model.pool.size === 0 || !model.queue.offer(job)) throw noWorker(name, version ?? undefined);
    return () => {
      if (model.queue.remove(job)) job.cancelled = true;
    };
  }

  /** Sends a describe request through a worker and returns its reply. */
  describe(model: ServedModel, headers: ReadonlyArray<readonly [string, string]>, requestId: string): Promise<ResponseEntry> {
    return new Promise((resolve, reject) => {
      const sink: JobSink = {
        reply: (entry, last) => {
          if (last) resolve(entry);
        },
        fail: (error: ServeError) => reject(error),
      };
      const request: InferenceRequest = {
        requestId,
        headers: [...headers.filter(([k]) => k !== 'describe'), ['describe', 'True']],
        parameters: [],
      };
      const job = new Job(request, 'describe', this.clock.now(), sink);
      if (model.pool.size === 0 || !model.queue.offer(job)) reject(noWorkerForDescribe(model.name));
    });
  }

  /** Unhealthy when a model's default version has fewer healthy workers than its minimum. */
  ping(): Health {
    for (const name of this.registry.names()) {
      const model = this.registry.get(name);
      if (model.pool.healthyCount() < model.workers.min) return 'Unhealthy';
    }
    return 'Healthy';
  }
}
