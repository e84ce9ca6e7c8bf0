// Lantern's version, read once from package.json: the one place it is written (the Python worker's
// __version__ is held to it by a test).
import { readFileSync } from 'node:fs';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
