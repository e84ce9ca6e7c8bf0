// The Open Inference Protocol's server and model metadata and readiness (KServe v2), transport-neutral
// for the REST and gRPC edges. Tensor metadata comes from the ONNX session for the built-in onnx
// handler (asked once per model version through a worker's describe) and from model-config.yaml's
// `oip` block for any other handler (docs/kserve.md).
import { randomUUID } from 'node:crypto';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { InferenceService } from './inference-service.js';
import type { Readiness } from './readiness.js';
import type { ServedModel } from './served-model.js';

export interface TensorMetadata {
  readonly name: string;
  readonly datatype: string;
  readonly shape: number[];
}

export interface ModelMetadata {
  readonly name: string;
  readonly versions: string[];
  readonly platform: string;
  readonly inputs: TensorMetadata[];
  readonly outputs: TensorMetadata[];
}

export interface ServerMetadata {
  readonly name: string;
  readonly version: string;
  readonly extensions: string[];
}

export const OIP_EXTENSIONS = ['kserve', 'kubeflow', 'binary_tensor_data'];

function tensorsOf(value: unknown): TensorMetadata[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((t: unknown) => {
    if (typeof t !== 'object' || t === null) return [];
    const { name, datatype, shape } = t as Record<string, unknown>;
    if (typeof name !== 'string') return [];
    const dims = Array.isArray(shape) ? shape.map((d) => (typeof d === 'number' && Number.isInteger(d) && d >= 0 ? d : -1)) : [];
    return [{ name, datatype: typeof datatype === 'string' ? datatype : '', shape: dims }];
  });
}

const isBuiltinOnnx = (model: ServedModel): boolean => model.runtime === 'node' && (model.handler === '' || model.handler === 'onnx');

export class OpenInference {
  /** ONNX tensor metadata per served model version, asked once. */
  private readonly onnxMetadata = new WeakMap<ServedModel, Promise<{ inputs: TensorMetadata[]; outputs: TensorMetadata[] }>>();

  constructor(
    private readonly registry: ModelRegistry<ServedModel>,
    private readonly inference: InferenceService,
    private readonly readiness: Readiness,
    private readonly serverVersion: string,
  ) {}

  serverMetadata(): ServerMetadata {
    return { name: 'Torchserve', version: this.serverVersion, extensions: [...OIP_EXTENSIONS] };
  }

  isLive(): boolean {
    return true;
  }

  isReady(): boolean {
    return this.readiness.isReady();
  }

  /** Throws the usual 404 for an unknown model or version. */
  isModelReady(name: string, version: string | null): boolean {
    return this.readiness.isModelReady(name, version ?? undefined);
  }

  /** Throws the usual 404 for an unknown model or version. */
  async modelMetadata(name: string, version: string | null): Promise<ModelMetadata> {
    const model = this.registry.get(name, version ?? undefined);
    const versions = this.registry.allVersions(name).map(([v]) => v);
    if (isBuiltinOnnx(model)) {
      const tensors = await this.onnxTensors(model);
      return { name, versions, platform: 'onnxruntime_onnx', ...tensors };
    }
    const block = model.archive.config?.raw.oip;
    const oip = typeof block === 'object' && block !== null ? (block as Record<string, unknown>) : {};
    return {
      name,
      versions,
      platform: typeof oip.platform === 'string' ? oip.platform : '',
      inputs: tensorsOf(oip.inputs),
      outputs: tensorsOf(oip.outputs),
    };
  }

  private onnxTensors(model: ServedModel): Promise<{ inputs: TensorMetadata[]; outputs: TensorMetadata[] }> {
    let known = this.onnxMetadata.get(model);
    if (known === undefined) {
      known = this.inference.describe(model, [], randomUUID()).then((reply) => {
        const described = JSON.parse(reply.body.toString('utf8')) as Record<string, unknown>;
        return { inputs: tensorsOf(described.inputs), outputs: tensorsOf(described.outputs) };
      });
      // A failure (no worker yet) is not remembered: the next call asks again.
      known.catch(() => this.onnxMetadata.delete(model));
      this.onnxMetadata.set(model, known);
    }
    return known;
  }
}
