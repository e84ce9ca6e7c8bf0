// The service definitions, loaded from the repository's proto/ files at start-up (no generated code).
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type GrpcObject, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';

/** proto/ at the repository root (this module runs from dist/grpc/). */
export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

export const INFERENCE_SERVICE = 'org.pytorch.serve.grpc.inference.InferenceAPIsService';
export const MANAGEMENT_SERVICE = 'org.pytorch.serve.grpc.management.ManagementAPIsService';
/** The Open Inference Protocol under KServe's name (tritonclient, the KServe SDK) and TorchServe's. */
export const OIP_SERVICES = ['inference.GRPCInferenceService', 'org.pytorch.serve.grpc.openinference.GRPCInferenceService'] as const;

/**
 * Field names as written in the .proto files (snake_case), 64-bit integers as strings, unset
 * scalars as their zero value, and proto3 `optional` fields left out when unset.
 */
export const LOADER_OPTIONS: Options = {
  includeDirs: [PROTO_DIR],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export interface LanternServices {
  readonly inference: ServiceDefinition;
  readonly management: ServiceDefinition;
  /** The Open Inference service under each of its names (OIP_SERVICES), one implementation. */
  readonly openInference: readonly ServiceDefinition[];
  /** The whole package tree, for clients (tests build theirs from it). */
  readonly packageObject: GrpcObject;
}

export function loadLanternServices(): LanternServices {
  const definition = loadSync(['inference.proto', 'management.proto', 'grpc_predict_v2.proto', 'open_inference_grpc.proto'], LOADER_OPTIONS);
  const openInference = OIP_SERVICES.map((name) => {
    const service = definition[name];
    if (service === undefined || !('ModelInfer' in service)) throw new Error(`proto files in ${PROTO_DIR} do not define ${name}`);
    return service as ServiceDefinition;
  });
  const inference = definition[INFERENCE_SERVICE];
  const management = definition[MANAGEMENT_SERVICE];
  if (inference === undefined || !('Predictions' in inference) || management === undefined || !('ListModels' in management)) {
    throw new Error(`proto files in ${PROTO_DIR} do not define the TorchServe services`);
  }
  return {
    inference: inference as ServiceDefinition,
    management: management as ServiceDefinition,
    openInference,
    packageObject: loadPackageDefinition(definition),
  };
}
