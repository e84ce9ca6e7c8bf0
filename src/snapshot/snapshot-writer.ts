// Writes snapshots: one `snapshot` after every registry change (models, versions, defaults,
// worker targets), plus `startup` and `shutdown` when main.ts asks. Writes are serialized and
// coalesced: a change that arrives while a write waits to start is covered by that write, since
// the state is read when the write starts.
import type { EventEmitter } from 'node:events';
import type { Clock } from '../clock.js';
import type { RegistryEvent } from '../registry/model-registry.js';
import { snapshotText, type SnapshotState } from './snapshot-content.js';
import type { SnapshotKind, SnapshotStore } from './snapshot-store.js';

export interface SnapshotWriterDeps {
  readonly store: SnapshotStore;
  /** The state to record, read at the moment a write starts. */
  readonly state: () => SnapshotState;
  readonly clock: Clock;
  readonly log: (message: string, cause?: unknown) => void;
}

type ChangeSource = EventEmitter<{ change: [RegistryEvent] }>;

export interface SnapshotStatus {
  readonly lastName: string | null;
  /** Clock ms of the newest snapshot written. */
  readonly lastAtMs: number | null;
  /** Why the newest write failed, until one succeeds. */
  readonly lastError: string | null;
}

export class SnapshotWriter {
  private chain: Promise<void> = Promise.resolve();
  /** True while a `snapshot` write is queued but has not read the state yet. */
  private queued = false;
  private source: ChangeSource | null = null;
  private readonly onChange = (): void => {
    if (this.queued) return;
    this.queued = true;
    void this.enqueue('snapshot');
  };

  private last: SnapshotStatus = { lastName: null, lastAtMs: null, lastError: null };

  constructor(private readonly deps: SnapshotWriterDeps) {}

  /** The newest snapshot written and the newest failure, for the console. */
  status(): SnapshotStatus {
    return this.last;
  }

  /** Writes a `snapshot` after every change `source` announces, until close(). */
  follow(source: ChangeSource): void {
    this.source = source;
    source.on('change', this.onChange);
  }

  /** Writes a snapshot of `kind` after the writes already queued; never rejects (failures are logged). */
  write(kind: SnapshotKind): Promise<void> {
    return this.enqueue(kind);
  }

  /**
   * Resolves once the writes queued so far are done: a change announced before this call is then
   * on disk (temporary file, fsync, rename, fsync of the folder). Never rejects.
   */
  settled(): Promise<void> {
    return this.chain;
  }

  /** Stops following changes and waits for queued writes. Idempotent. */
  async close(): Promise<void> {
    this.source?.off('change', this.onChange);
    this.source = null;
    await this.chain;
  }

  private enqueue(kind: SnapshotKind): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (kind === 'snapshot') this.queued = false;
      const { store, clock } = this.deps;
      const now = clock.now();
      const name = store.nextName(kind, now);
      try {
        await store.write(name, snapshotText(name, now, this.deps.state()));
        this.last = { lastName: name, lastAtMs: now, lastError: null };
      } catch (err) {
        this.last = { ...this.last, lastError: `${name}: ${err instanceof Error ? err.message : String(err)}` };
        this.deps.log(`Failed to write snapshot ${name}`, err);
      }
    });
    return this.chain;
  }
}
