// The one readiness predicate (/readyz, /v2/health/ready, gRPC ServerReady, KServe v1 model ready):
// the server has finished starting, is not stopping, and every model it loaded at start (from
// load_models or a restored snapshot) still registered has at least one READY worker.
import type { ModelRegistry } from '../registry/model-registry.js';
import type { ServedModel } from './served-model.js';

export class Readiness {
  /** The startup models as (name, version); null until startup is over. */
  private startupModels: ReadonlyArray<readonly [string, string]> | null = null;
  private stopping = false;

  constructor(private readonly registry: ModelRegistry<ServedModel>) {}

  /** Startup is over: the models registered now are the ones readiness waits for. */
  serving(): void {
    this.startupModels = this.registry.entries().map(({ name, version }) => [name, version] as const);
  }

  /** The server is stopping: not ready from now on. */
  stop(): void {
    this.stopping = true;
  }

  isReady(): boolean {
    if (this.stopping || this.startupModels === null) return false;
    return this.startupModels.every(([name, version]) => !this.registry.has(name, version) || this.registry.get(name, version).pool.readyCount() >= 1);
  }

  /** A model's own readiness (KServe v1/v2 model ready): the server is not stopping and the version has a READY worker. */
  isModelReady(name: string, version?: string): boolean {
    if (this.stopping) return false;
    return this.registry.get(name, version).pool.readyCount() >= 1;
  }
}
