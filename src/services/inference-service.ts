// Inference use cases (spec §2): route a parsed request to its model version's queue, health.
import { noWorker, noWorkerForDescribe, sequenceClosed, type ServeError } from '../errors.js';
import type { Clock } from '../clock.js';

/** Where a prediction's replies go (the edges implement it). */
export type { JobSink as ReplySink } from '../batching/job.js';
import { Job, type JobSink } from '../batching/job.js';
import type { InferenceRequest, ResponseEntry } from '../protocol/messages.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { ServedModel } from './served-model.js';
import { healthProblems } from './server-health.js';

export type Health = 'Healthy' | 'Unhealthy';

/** Observers of predictions (metrics listen here); every method is optional and must not throw. */
export interface InferenceEvents {
  /** A prediction for a known model version, before it is queued: counted even when the queue refuses it. */
  predictionReceived?(job: Job, modelName: string, modelVersion: string, requestedVersion: string | null): void;
  /** The prediction's final answer: `ok` for a result, false for an error. */
  predictionAnswered?(job: Job, ok: boolean): void;
}

/** Tells `events` about the final answer, then passes every answer on. */
function observedSink(sink: JobSink, events: InferenceEvents, job: () => Job): JobSink {
  return {
    reply: (entry, last) => {
      if (last) events.predictionAnswered?.(job(), true);
      sink.reply(entry, last);
    },
    fail: (error) => {
      events.predictionAnswered?.(job(), false);
      sink.fail(error);
    },
  };
}

export class InferenceService {
  constructor(
    private readonly registry: ModelRegistry<ServedModel>,
    private readonly clock: Clock,
    private readonly events: InferenceEvents = {},
  ) {}

  /**
   * Queues a prediction. Throws when the model or version is unknown, or when it has no
   * workers or a full queue. Returns a function that withdraws the request if it is still queued.
   */
  submit(name: string, version: string | null, request: InferenceRequest, sink: JobSink): () => void {
    const model = this.registry.get(name, version ?? undefined);
    const queued = model.queue.admit?.(request) ?? request;
    const job: Job = new Job(queued, 'predict', this.clock.now(), observedSink(sink, this.events, () => job));
    this.events.predictionReceived?.(job, model.name, model.version, version);
    const loadFailure = model.pool.loadFailure();
    if (loadFailure !== null) throw loadFailure;
    if (model.pool.size === 0 || !model.queue.offer(job)) throw noWorker(name, version ?? undefined);
    return () => {
      if (model.queue.remove(job)) job.cancelled = true;
    };
  }

  /**
   * Ends a stateful model's sequence (its gRPC stream closed): requests still waiting in it are
   * answered SEQUENCE_CLOSED. Nothing happens for an unknown model or sequence, or a stateless model.
   */
  endSequence(name: string, version: string | null, sequenceId: string): void {
    let model: ServedModel;
    try {
      model = this.registry.get(name, version ?? undefined);
    } catch {
      return; // unregistered meanwhile: its sequences went with it
    }
    model.queue.endSequence?.(sequenceId, sequenceClosed(sequenceId, 'its gRPC stream closed'));
  }

  /** The name of the one model loaded at start, when exactly one was (SageMaker's /invocations); else null. */
  soleStartupModel(): string | null {
    const names = new Set(this.registry.entries().filter(({ entry }) => entry.loadedAtStartup).map(({ name }) => name));
    return names.size === 1 ? ([...names][0] as string) : null;
  }

  /** Every registered model name (KServe v1's model list). */
  modelNames(): string[] {
    return this.registry.names();
  }

  /** Throws the usual 404 when the model (or the given version) is not registered. */
  requireModel(name: string, version: string | null): void {
    this.registry.get(name, version ?? undefined);
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

  /** Unhealthy while any model version has fewer ready workers than its minimum (see server-health.ts). */
  ping(): Health {
    return healthProblems(this.registry).length === 0 ? 'Healthy' : 'Unhealthy';
  }
}
