// One entry point for unpacking a model archive file, chosen the way TorchServe chooses (spec §1.3 step 5).
import { extractTarGz } from './extract-tar.js';
import { extractZip } from './extract-zip.js';
import type { ExtractLimits } from './extraction-guard.js';

export { extractZip } from './extract-zip.js';
export { extractTarGz, stripFirstComponent } from './extract-tar.js';
export type { ExtractLimits } from './extraction-guard.js';

export type ArchiveFormat = 'zip' | 'tar.gz';

/** `.mar` files are zips; any other file is treated as a gzip'd tar. */
export function archiveFormatOf(fileName: string): ArchiveFormat {
  return fileName.endsWith('.mar') ? 'zip' : 'tar.gz';
}

/**
 * Extracts `archiveFile` into the new directory `dest`; refuses unsafe archives and leaves nothing
 * behind on failure. Pass `format` when the file's own name is not the one that decides (a symlink
 * in the model store is judged by the link's name, as TorchServe does).
 */
export async function extractArchive(
  archiveFile: string,
  dest: string,
  limits: ExtractLimits,
  format: ArchiveFormat = archiveFormatOf(archiveFile),
): Promise<void> {
  if (format === 'zip') await extractZip(archiveFile, dest, limits);
  else await extractTarGz(archiveFile, dest, limits);
}
