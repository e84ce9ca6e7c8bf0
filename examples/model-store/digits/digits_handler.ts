// Handwritten digits (8x8, pixels 0..16) → the digit, on the Node runtime with ONNX Runtime.
// Trained by examples/digits/train.py; see examples/digits/README.md.
import path from 'node:path';
import * as ort from 'onnxruntime-node';

interface Context {
  readonly systemProperties: { readonly model_dir: string };
  readonly manifest: { readonly model: { readonly serializedFile: string } };
  isDescribe(idx?: number): boolean;
}

const PIXELS = 64;

export class DigitsHandler {
  private session: ort.InferenceSession | null = null;

  async initialize(context: Context): Promise<void> {
    const file = path.join(context.systemProperties.model_dir, context.manifest.model.serializedFile);
    this.session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
  }

  /** One image per request: 64 numbers, or 8 rows of 8, each 0..16. */
  private pixelsOf(row: Record<string, unknown>, idx: number): number[] {
    let value = row.body ?? row.data;
    if (Buffer.isBuffer(value) || typeof value === 'string') value = JSON.parse(value.toString());
    const flat = Array.isArray(value) ? value.flat() : null;
    if (flat === null || flat.length !== PIXELS || !flat.every((v) => typeof v === 'number' && v >= 0 && v <= 16)) {
      throw Object.assign(new Error(`request ${idx}: expected 64 pixel values 0..16 (8 rows of 8, or flat)`), { errorCode: 400 });
    }
    return flat as number[];
  }

  describe(): Record<string, unknown> {
    return { dataset: 'UCI optical handwritten digits (8x8)', model: 'MLP 64-32-10 (ONNX)', classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] };
  }

  async handle(batch: Array<Record<string, unknown>>): Promise<Array<{ digit: number; probability: number }>> {
    if (this.session === null) throw new Error('not initialized');
    const pixels = Float32Array.from(batch.flatMap((row, i) => this.pixelsOf(row, i)));
    const out = await this.session.run({ pixels: new ort.Tensor('float32', pixels, [batch.length, PIXELS]) });
    const probabilities = out.probabilities?.data as Float32Array;
    return batch.map((_, i) => {
      const p = Array.from(probabilities.subarray(i * 10, i * 10 + 10));
      const digit = p.indexOf(Math.max(...p));
      return { digit, probability: Math.round((p[digit] as number) * 10000) / 10000 };
    });
  }
}
