// Management use cases (spec §1): register, scale, describe, unregister, list, set-default.
// Transport-neutral: returns data or outcomes, throws ServeError.
import {
  maxBelowMin,
  modelApiDisabled,
  workersFailedToStart,
  isServeError,
  modelUnloaded,
  negativeWorkers,
  parameterRequired,
  cleanupTimeout,
} from '../errors.js';
import { TIMED_OUT, withTimeout, type Clock } from '../clock.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { ModelHost } from './model-host.js';
import type { RequestedSettings } from './model-settings.js';
import type { ServedModel } from './served-model.js';
import type { InferenceService } from './inference-service.js';
import { describeModel, type DescribedModel } from './model-description.js';

/** `done` → 200, `accepted` → 202, `partial` → 206 at the HTTP edge. */
export interface StatusOutcome {
  readonly kind: 'done' | 'accepted' | 'partial';
  readonly message: string;
}

export interface RegisterParams {
  readonly url: string | null;
  readonly modelName: string | null;
  readonly handler: string | null;
  readonly runtime: string | null;
  /** initialWorkers null when the client named none: default_workers_per_model applies. */
  readonly requested: Omit<RequestedSettings, 'initialWorkers'> & { readonly initialWorkers: number | null };
  readonly synchronous: boolean;
  /** s3_sse_kms: sign the http(s) download with AWS SigV4 (spec §1.3). */
  readonly s3SseKms?: boolean;
}

export interface ScaleParams {
  readonly name: string;
  /** From the path (or model_version); null → default version. */
  readonly version: string | null;
  readonly versionInPath: boolean;
  readonly minWorker: number | null;
  readonly maxWorker: number | null;
  readonly synchronous: boolean;
}

export interface ListResult {
  readonly nextPageToken?: string;
  readonly models: ReadonlyArray<{ readonly modelName: string; readonly modelUrl: string }>;
}

export interface CustomizedDescription {
  readonly status: number;
  readonly contentType: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly models: DescribedModel[];
}

export interface ManagementOptions {
  readonly modelApiEnabled: boolean;
  readonly unregisterTimeoutMs: number;
  /**
   * Resolves once every change made so far is durable (the snapshot recording it is written and
   * synced), so that an answered change survives a crash. Absent when snapshots are off.
   */
  readonly persisted?: () => Promise<void>;
  /** Initial workers of a registration that names none (default_workers_per_model), for every edge. */
  readonly defaultWorkersPerModel: number;
  readonly log: (line: string) => void;
}

const PROCESSING = 'Processing worker updates...';

export class ManagementService {
  constructor(
    private readonly registry: ModelRegistry<ServedModel>,
    private readonly host: ModelHost,
    private readonly inference: InferenceService,
    private readonly clock: Clock,
    private readonly options: ManagementOptions,
  ) {}

  async register(params: RegisterParams): Promise<StatusOutcome> {
    if (!this.options.modelApiEnabled) throw modelApiDisabled();
    if (params.url === null) throw parameterRequired('url');
    const model = await this.host.add({
      url: params.url,
      modelName: params.modelName,
      handler: params.handler,
      runtime: params.runtime,
      requested: { ...params.requested, initialWorkers: params.requested.initialWorkers ?? this.options.defaultWorkersPerModel },
      trusted: false,
      loadedAtStartup: false,
      ...(params.s3SseKms === undefined ? {} : { s3SseKms: params.s3SseKms }),
    });
    const { min, max } = model.workers;
    if (min <= 0) {
      await this.persisted();
      return {
        kind: 'done',
        message: `Model "${model.name}" Version: ${model.version} registered with 0 initial workers. Use scale workers API to add workers for the model.`,
      };
    }
    const scaling = model.pool.scale(min, max);
    if (!params.synchronous) {
      scaling.catch((err: unknown) => this.options.log(`Workers of ${model.name} ${model.version} failed to start: ${String(err)}`));
      await this.persisted();
      return { kind: 'accepted', message: PROCESSING };
    }
    try {
      await scaling;
    } catch (err) {
      // A registration whose workers cannot start is taken back, as TorchServe does.
      await this.removeVersion(model);
      throw err;
    }
    await this.persisted();
    return { kind: 'done', message: `Model "${model.name}" Version: ${model.version} registered with ${min} initial workers` };
  }

  async scale(params: ScaleParams): Promise<StatusOutcome> {
    const model = this.registry.get(params.name, params.version ?? undefined);
    const min = params.minWorker ?? 1;
    const max = params.maxWorker ?? min;
    if (min < 0) throw negativeWorkers();
    if (max < min) throw maxBelowMin();
    model.workers = { min, max };
    this.registry.notifyScaled(model.name, model.version);
    const scaling = model.pool.scale(min, max);
    if (!params.synchronous) {
      scaling.catch((err: unknown) => this.options.log(`Scaling ${model.name} ${model.version} failed: ${String(err)}`));
      await this.persisted();
      return { kind: 'accepted', message: PROCESSING };
    }
    try {
      await scaling;
    } catch (err) {
      // TorchServe names the version as the request gave it: `version: null` without one.
      throw workersFailedToStart(model.name, params.version, isServeError(err) ? err.status : 500);
    }
    await this.persisted();
    const suffix = params.versionInPath && params.version !== null ? `, version: ${params.version}` : '';
    return { kind: 'done', message: `Workers scaled to ${min} for model: ${model.name}${suffix}` };
  }

  async describe(name: string, version: string | null): Promise<DescribedModel[]> {
    const models = version === 'all' ? this.registry.allVersions(name).map(([, m]) => m) : [this.registry.get(name, version ?? undefined)];
    return Promise.all(models.map((m) => describeModel(m)));
  }

  /** Describe with the handler's own metadata (a describe request sent through a worker). */
  async describeCustomized(
    name: string,
    version: string | null,
    headers: ReadonlyArray<readonly [string, string]>,
    requestId: string,
  ): Promise<CustomizedDescription> {
    const model = this.registry.get(name, version ?? undefined);
    const reply = await this.inference.describe(model, headers, requestId);
    const [described] = await this.describe(name, model.version);
    const result = described as DescribedModel;
    if (reply.body.length > 0) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(reply.body.toString('utf8'));
      } catch {
        parsed = {};
      }
      if (parsed !== null) result.customizedMetadata = typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
    }
    return { status: reply.status, contentType: reply.contentType, headers: reply.headers, models: [result] };
  }

  async unregister(name: string, version: string | null): Promise<StatusOutcome> {
    if (!this.options.modelApiEnabled) throw modelApiDisabled();
    const v = this.registry.checkRemovable(name, version ?? undefined);
    const model = this.registry.get(name, v);
    await this.removeVersion(model);
    await this.persisted();
    return { kind: 'done', message: `Model "${name}" unregistered` };
  }

  private persisted(): Promise<void> {
    return this.options.persisted?.() ?? Promise.resolve();
  }

  list(limitParam: number | null, tokenParam: number | null): ListResult {
    let limit = limitParam ?? 100;
    if (limit > 100 || limit < 0) limit = 100;
    const token = Math.max(0, tokenParam ?? 0);
    const names = this.registry.names();
    const page = names.slice(token, token + limit).map((modelName) => ({
      modelName,
      modelUrl: this.registry.get(modelName).archive.url,
    }));
    return token + limit <= names.length ? { nextPageToken: String(token + limit), models: page } : { models: page };
  }

  async setDefault(name: string, version: string): Promise<StatusOutcome> {
    this.registry.setDefault(name, version);
    await this.persisted();
    return { kind: 'done', message: `Default version successfully updated for model "${name}" to "${version}"` };
  }

  /** Removes a version from the registry first (no new requests), then stops it within the timeout. */
  private async removeVersion(model: ServedModel): Promise<void> {
    this.registry.remove(model.name, model.version);
    // Requests the workers run or hold are finished first, for up to unregister_model_timeout.
    const outcome = await withTimeout(this.host.remove(model), this.options.unregisterTimeoutMs, this.clock);
    if (outcome === TIMED_OUT) {
      const error = cleanupTimeout(model.name);
      await this.host.remove(model, modelUnloaded(model.name), 'abort');
      throw error;
    }
  }
}
