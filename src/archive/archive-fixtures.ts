// Test support: builds zip and tar.gz files byte by byte, including hostile ones that regular tools
// refuse to produce (`../x`, absolute names, links).
import { writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { ZipFile } from 'yazl';

export interface ZipEntrySpec {
  readonly name: string;
  readonly data?: Buffer | string;
  /** Unix mode with file type bits, e.g. 0o120777 for a symlink. */
  readonly mode?: number;
  readonly directory?: boolean;
  readonly compress?: boolean;
}

const HOSTILE_NAME = /(^|[\\/])\.\.([\\/]|$)|^[\\/]|^[A-Za-z]:/;

/** Writes a zip. yazl refuses hostile names, so those go in as same-length placeholders patched afterwards. */
export async function writeZip(file: string, entries: readonly ZipEntrySpec[]): Promise<void> {
  const zip = new ZipFile();
  const patches: Array<[Buffer, Buffer]> = [];
  entries.forEach((entry, index) => {
    let name = entry.name;
    if (HOSTILE_NAME.test(name)) {
      const real = Buffer.from(name);
      const stamp = `@${index.toString(36)}@`;
      const placeholder = (stamp + 'q'.repeat(real.length)).slice(0, real.length);
      if (placeholder.length < stamp.length) throw new Error(`name too short to patch: ${name}`);
      patches.push([Buffer.from(placeholder), real]);
      name = placeholder;
    }
    const options = { mode: entry.mode, compress: entry.compress ?? true };
    if (entry.directory === true) zip.addEmptyDirectory(name, { mode: entry.mode });
    else zip.addBuffer(Buffer.from(entry.data ?? ''), name, options);
  });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  for (const [placeholder, real] of patches) {
    for (let at = bytes.indexOf(placeholder); at !== -1; at = bytes.indexOf(placeholder, at + 1)) real.copy(bytes, at);
  }
  await writeFile(file, bytes);
}

export interface TarEntrySpec {
  readonly name: string;
  readonly type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'FIFO';
  readonly data?: Buffer | string;
  readonly linkpath?: string;
}

/** Writes a gzip'd tar with exactly the given headers (names up to 100 bytes). */
export async function writeTarGz(file: string, entries: readonly TarEntrySpec[]): Promise<void> {
  await writeFile(file, gzipSync(tarBytes(entries)));
}

export function tarBytes(entries: readonly TarEntrySpec[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const type = entry.type ?? 'File';
    const data = type === 'File' ? Buffer.from(entry.data ?? '') : Buffer.alloc(0);
    const header = new Header({
      path: entry.name,
      mode: type === 'Directory' ? 0o755 : 0o644,
      size: data.length,
      type,
      linkpath: entry.linkpath ?? '',
      mtime: new Date(0),
      uid: 0,
      gid: 0,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
