// Keys shared by replicas (issue 24 item 2): behind a load balancer every replica must accept the same
// keys, so they come from outside — a mounted file (a Kubernetes Secret) or the environment — instead
// of being generated per process. The file is read again every few seconds; a changed key replaces
// the old one, which keeps working for token_rotation_grace_sec (TokenAuthorization.replaceKeys).
import { readFile } from 'node:fs/promises';
import type { Clock, Timer } from '../clock.js';

export interface SharedKeys {
  readonly inference: string;
  readonly management: string;
}

/** Shorter keys are refused: a shared key guards every replica. */
export const MIN_SHARED_KEY_CHARS = 16;
/** How often the key file is read again (Kubernetes updates a mounted Secret by swapping a symlink, which fs.watch misses). */
export const KEY_FILE_POLL_MS = 2000;

const KEY_TEXT = /^[\x21-\x7e]+$/;

function checkKey(scope: string, value: unknown): string {
  if (typeof value !== 'string') throw new Error(`the ${scope} key must be a string`);
  if (!KEY_TEXT.test(value)) throw new Error(`the ${scope} key must be printable ASCII without spaces`);
  if (value.length < MIN_SHARED_KEY_CHARS) throw new Error(`the ${scope} key must have at least ${MIN_SHARED_KEY_CHARS} characters`);
  return value;
}

/** One key given as in TorchServe's key_file.json (`{"key": ...}`) or as a plain string. */
function keyOf(body: Record<string, unknown>, scope: 'inference' | 'management'): string {
  const entry = body[scope];
  if (entry === undefined) throw new Error(`no ${scope} key`);
  const value = entry !== null && typeof entry === 'object' ? (entry as Record<string, unknown>).key : entry;
  return checkKey(scope, value);
}

/**
 * The keys in a key file: a JSON object with `inference` and `management`, each a string or an object
 * with a `key` string (TorchServe's key_file.json layout, so a file written by one can be mounted).
 */
export function parseSharedKeyFile(text: string): SharedKeys {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error('must be a JSON object with "inference" and "management" keys');
  const record = body as Record<string, unknown>;
  return { inference: keyOf(record, 'inference'), management: keyOf(record, 'management') };
}

/** Both keys from the environment's values (TS_INFERENCE_KEY, TS_MANAGEMENT_KEY). */
export function sharedKeysFromValues(inference: string | null, management: string | null): SharedKeys {
  if (inference === null || management === null) throw new Error('set both inference_key and management_key (TS_INFERENCE_KEY, TS_MANAGEMENT_KEY), or neither');
  return { inference: checkKey('inference', inference), management: checkKey('management', management) };
}

export async function readSharedKeyFile(filePath: string): Promise<SharedKeys> {
  let text: string;
  try {
    text = await readFile(filePath, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the key file ${filePath}: ${(err as Error).message}`);
  }
  try {
    return parseSharedKeyFile(text);
  } catch (err) {
    throw new Error(`the key file ${filePath} is not usable: ${(err as Error).message}`);
  }
}

/**
 * Reads the key file every `pollMs` and hands over the keys when they differ from the last ones read.
 * A file that is missing or broken for a while (mid-update) keeps the keys in use and is reported once.
 */
export class KeyFileFollower {
  private timer: Timer | null = null;
  private closed = false;
  private lastError: string | null = null;

  constructor(
    private readonly filePath: string,
    private last: SharedKeys,
    private readonly clock: Clock,
    private readonly onChange: (keys: SharedKeys) => void,
    private readonly log: (message: string) => void,
    private readonly pollMs = KEY_FILE_POLL_MS,
  ) {}

  start(): void {
    if (this.closed || this.timer !== null) return;
    this.timer = this.clock.after(this.pollMs, () => void this.poll());
  }

  private async poll(): Promise<void> {
    try {
      const keys = await readSharedKeyFile(this.filePath);
      this.lastError = null;
      if (!this.closed && (keys.inference !== this.last.inference || keys.management !== this.last.management)) {
        this.last = keys;
        this.onChange(keys);
      }
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.lastError) this.log(`${message}; the keys in use stay valid until it is fixed`);
      this.lastError = message;
    }
    this.timer = null;
    this.start();
  }

  /** Stops reading. Idempotent. */
  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
  }
}
