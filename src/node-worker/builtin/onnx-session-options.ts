// The `onnx` section of a model's model-config.yaml → ONNX Runtime session options, so that
// each model chooses its own thread counts. Invalid values fail the model load with a message.

export interface OnnxSessionOptions {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  executionMode?: 'sequential' | 'parallel';
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

const MODES = ['sequential', 'parallel'] as const;
const LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
const KEYS = ['intraOpNumThreads', 'interOpNumThreads', 'executionMode', 'graphOptimizationLevel'];

function threads(value: unknown, key: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  throw new Error(`model-config.yaml onnx.${key} must be a non-negative integer (0 = ONNX Runtime's default), got ${JSON.stringify(value)}`);
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], key: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new Error(`model-config.yaml onnx.${key} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
}

export function sessionOptionsOf(modelYamlConfig: Readonly<Record<string, unknown>>): OnnxSessionOptions {
  const section = modelYamlConfig.onnx;
  if (section === undefined || section === null) return {};
  if (typeof section !== 'object' || Array.isArray(section)) throw new Error('model-config.yaml onnx must be a mapping');
  const s = section as Record<string, unknown>;
  const unknown = Object.keys(s).filter((k) => !KEYS.includes(k));
  if (unknown.length > 0) throw new Error(`model-config.yaml onnx has unknown keys ${unknown.join(', ')} (known: ${KEYS.join(', ')})`);
  const options: OnnxSessionOptions = {};
  if (s.intraOpNumThreads !== undefined) options.intraOpNumThreads = threads(s.intraOpNumThreads, 'intraOpNumThreads');
  if (s.interOpNumThreads !== undefined) options.interOpNumThreads = threads(s.interOpNumThreads, 'interOpNumThreads');
  if (s.executionMode !== undefined) options.executionMode = oneOf(s.executionMode, MODES, 'executionMode');
  if (s.graphOptimizationLevel !== undefined) options.graphOptimizationLevel = oneOf(s.graphOptimizationLevel, LEVELS, 'graphOptimizationLevel');
  return options;
}
