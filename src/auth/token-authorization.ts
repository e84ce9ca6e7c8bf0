// Token authorization (spec §3): three keys — inference, management and the API key that
// rotates the other two — kept in key_file.json with TorchServe's layout. Lantern's keys carry
// 192 bits of randomness (TorchServe's have 48) and are compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, rename, rm, writeFile, open } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.js';
import type { SharedKeys } from './shared-keys.js';

export type KeyScope = 'inference' | 'management' | 'api';
export type RotatableScope = Exclude<KeyScope, 'api'>;

interface ExpiringKey {
  readonly key: string;
  readonly expiresAtMs: number;
}

/** 24 random bytes as URL-safe base64 without padding: 32 characters. */
export function generateKey(): string {
  return randomBytes(24).toString('base64url');
}

const BEARER = /^Bearer\s+(\S+)$/;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export class TokenAuthorization {
  private management: ExpiringKey;
  private inference: ExpiringKey;
  private readonly apiKey = generateKey();
  /** The key a rotation replaced, valid for the grace period so that requests already signed with it pass. */
  private readonly previous: Partial<Record<RotatableScope, ExpiringKey>> = {};
  private written = false;
  /** Writes run one after another, so concurrent rotations cannot interleave on the temp file. */
  private writing: Promise<void> = Promise.resolve();

  /** True when the keys come from a mounted file or the environment (shared-keys.ts): no key file, no rotation API. */
  readonly managedExternally: boolean;

  constructor(
    /** Where key_file.json is written; with `shared` keys, the file they are read from (or null: from the environment). */
    readonly keyFilePath: string | null,
    private readonly expirationMin: number,
    private readonly clock: Clock,
    /** How long a replaced key stays valid after a rotation (token_rotation_grace_sec). */
    private readonly rotationGraceMs = 10_000,
    /** Keys managed outside Lantern; they do not expire (whoever manages them replaces them). */
    shared: SharedKeys | null = null,
  ) {
    this.managedExternally = shared !== null;
    if (shared === null && keyFilePath === null) throw new Error('generated keys need a key file path');
    this.management = shared === null ? this.freshKey() : { key: shared.management, expiresAtMs: Infinity };
    this.inference = shared === null ? this.freshKey() : { key: shared.inference, expiresAtMs: Infinity };
  }

  /**
   * The externally managed keys changed (the key file was updated): a replaced key keeps working for
   * the grace period, as after a rotation.
   */
  replaceKeys(keys: SharedKeys): void {
    if (!this.managedExternally) throw new Error('replaceKeys needs externally managed keys');
    const graceEndMs = this.clock.now() + this.rotationGraceMs;
    for (const scope of ['inference', 'management'] as const) {
      const current = scope === 'management' ? this.management : this.inference;
      if (current.key === keys[scope]) continue;
      this.previous[scope] = { key: current.key, expiresAtMs: graceEndMs };
      const next = { key: keys[scope], expiresAtMs: Infinity };
      if (scope === 'management') this.management = next;
      else this.inference = next;
    }
  }

  /**
   * Writes key_file.json atomically with mode 0600; the file always holds the keys current when it was
   * written. Externally managed keys are never written.
   */
  writeKeyFile(): Promise<void> {
    if (this.managedExternally) return Promise.resolve();
    const next = this.writing.then(() => this.writeNow());
    this.writing = next.catch(() => undefined);
    return next;
  }

  private async writeNow(): Promise<void> {
    const iso = (ms: number): string => new Date(ms).toISOString();
    const body = {
      management: { key: this.management.key, 'expiration time': iso(this.management.expiresAtMs) },
      inference: { key: this.inference.key, 'expiration time': iso(this.inference.expiresAtMs) },
      API: { key: this.apiKey },
    };
    const file = this.keyFilePath as string;
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
    // A stale temp file (same pid after a crash) may have any mode: start from a fresh file.
    await rm(tmp, { force: true });
    try {
      await writeFile(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      await chmod(tmp, 0o600);
      const handle = await open(tmp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    this.written = true;
  }

  /**
   * True when `authorization` (the raw header) carries the valid, unexpired key for `scope`, or the
   * key a rotation replaced less than the grace period ago.
   */
  check(scope: KeyScope, authorization: string | undefined): boolean {
    const token = BEARER.exec(authorization ?? '')?.[1];
    if (token === undefined) return false;
    const now = this.clock.now();
    const given = digest(token);
    const matches = (expected: ExpiringKey | undefined): boolean =>
      expected !== undefined && timingSafeEqual(given, digest(expected.key)) && now < expected.expiresAtMs;
    if (scope === 'api') return matches({ key: this.apiKey, expiresAtMs: Infinity });
    const current = scope === 'management' ? this.management : this.inference;
    // Both are compared, so the time taken does not tell which one matched.
    const [isCurrent, isPrevious] = [matches(current), matches(this.previous[scope])];
    return isCurrent || isPrevious;
  }

  /** Replaces one key (and its expiry) and rewrites the key file before returning. */
  async rotate(scope: RotatableScope): Promise<void> {
    if (this.managedExternally) throw new Error('the keys are managed externally');
    const replaced = scope === 'management' ? this.management : this.inference;
    this.previous[scope] = { key: replaced.key, expiresAtMs: Math.min(replaced.expiresAtMs, this.clock.now() + this.rotationGraceMs) };
    if (scope === 'management') this.management = this.freshKey();
    else this.inference = this.freshKey();
    await this.writeKeyFile();
  }

  /** Removes the key file on a clean stop. Idempotent. */
  async close(): Promise<void> {
    await this.writing;
    if (!this.written || this.keyFilePath === null) return;
    this.written = false;
    await rm(this.keyFilePath, { force: true });
  }

  private freshKey(): ExpiringKey {
    return { key: generateKey(), expiresAtMs: this.clock.now() + this.expirationMin * 60_000 };
  }
}
