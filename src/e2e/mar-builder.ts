// Builds .mar bytes from in-memory files, for end-to-end tests that need handlers other than
// the Python fixtures harness.ts packs (Node handlers, ONNX models, model-config.yaml).
import { ZipFile } from 'yazl';

/** A .mar holding `files` (name → bytes) and MAR-INF/MANIFEST.json with `model` and `runtime`. */
export async function marOf(files: Readonly<Record<string, Buffer>>, model: Readonly<Record<string, string>>, runtime: string): Promise<Buffer> {
  const manifest = { createdOn: '01/01/2026 00:00:00', runtime, model: { modelVersion: '1.0', ...model }, archiverVersion: '0.12.0' };
  const zip = new ZipFile();
  for (const [name, bytes] of Object.entries(files)) zip.addBuffer(bytes, name);
  zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), 'MAR-INF/MANIFEST.json');
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
