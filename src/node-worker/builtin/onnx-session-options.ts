// The `onnx` section of a model's model-config.yaml → ONNX Runtime session options, so that
// each model chooses its own thread counts. Invalid values fail the model load with a message.
import type { InferenceSession } from 'onnxruntime-node';

export interface OnnxSessionOptions {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  executionMode?: 'sequential' | 'parallel';
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Whether idle intra-op threads spin waiting for work (ONNX Runtime's default) or sleep at once,
   * leaving the core to the front end and other workers.
   */
  allowSpinning?: boolean;
}

const MODES = ['sequential', 'parallel'] as const;
const LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
const KEYS = ['intraOpNumThreads', 'interOpNumThreads', 'executionMode', 'graphOptimizationLevel', 'allowSpinning'];

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
  if (s.allowSpinning !== undefined) {
    if (typeof s.allowSpinning !== 'boolean') throw new Error(`model-config.yaml onnx.allowSpinning must be true or false, got ${JSON.stringify(s.allowSpinning)}`);
    options.allowSpinning = s.allowSpinning;
  }
  return options;
}

/** The session options ONNX Runtime takes for these settings (allowSpinning is a session config entry). */
export function ortSessionOptions(options: OnnxSessionOptions): InferenceSession.SessionOptions {
  const { allowSpinning, ...rest } = options;
  if (allowSpinning === undefined) return rest;
  return { ...rest, extra: { session: { intra_op: { allow_spinning: allowSpinning ? '1' : '0' } } } };
}
