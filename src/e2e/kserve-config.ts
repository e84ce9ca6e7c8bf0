// kserve-torchserve's config.properties (kubernetes/kserve/config.properties in pytorch/serve), as
// the KServe runtime tests mount it: inference and management share one port, as there. Its fixed
// ports are moved to free ones and its 0.0.0.0 to 127.0.0.1 (tests listen on the loopback only).

export interface KserveConfigPorts {
  readonly shared: number;
  readonly metrics: number;
  readonly grpcManagement: number;
}

export function kserveTorchserveProperties(ports: KserveConfigPorts, modelStore: string): string {
  return [
    `inference_address=http://127.0.0.1:${ports.shared}`,
    `management_address=http://127.0.0.1:${ports.shared}`,
    `metrics_address=http://127.0.0.1:${ports.metrics}`,
    'grpc_inference_port=7070',
    `grpc_management_port=${ports.grpcManagement}`,
    'enable_envvars_config=true',
    'install_py_dep_per_model=true',
    'enable_metrics_api=true',
    'metrics_mode=prometheus',
    'NUM_WORKERS=1',
    'number_of_netty_threads=4',
    'job_queue_size=10',
    'load_models=all',
    `model_store=${modelStore}`,
  ].join('\n');
}
