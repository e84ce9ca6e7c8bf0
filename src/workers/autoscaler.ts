// Load-based scaling inside [minWorkers, maxWorkers] (beyond TorchServe, which only caps at
// max): one more worker when requests have been waiting with no idle worker for
// `scaleUpAfterMs`, one fewer after the pool has had an idle worker and an empty queue for
// `scaleDownAfterMs`. Active only while max > min. The decision is pure (`decide`); a timer on
// the injected clock samples the pool every `intervalMs`.
import type { Clock, Timer } from '../clock.js';

export interface AutoscaleSettings {
  readonly scaleUpAfterMs: number;
  readonly scaleDownAfterMs: number;
  readonly intervalMs: number;
}

export const DEFAULT_AUTOSCALE: AutoscaleSettings = Object.freeze({
  scaleUpAfterMs: 1000,
  scaleDownAfterMs: 60_000,
  intervalMs: 250,
});

/** What the pool looks like at one sample. */
export interface PoolLoad {
  readonly size: number;
  readonly min: number;
  readonly max: number;
  /** Jobs waiting in the queue. */
  readonly queued: number;
  /** Workers loaded and waiting for work. */
  readonly idle: number;
  /** Workers starting or restarting (not yet able to take work). */
  readonly starting: number;
}

export type ScaleStep = 'up' | 'down' | 'hold';

export class Autoscaler {
  private waitingSinceMs: number | null = null;
  private idleSinceMs: number | null = null;
  private timer: Timer | null = null;

  constructor(
    private readonly settings: AutoscaleSettings,
    private readonly clock: Clock,
    private readonly sample: () => PoolLoad,
    private readonly act: (step: 'up' | 'down') => void,
  ) {}

  /** Samples the pool periodically while `max > min`; call again whenever the bounds change. */
  update(min: number, max: number): void {
    if (max > min) {
      this.timer ??= this.clock.after(this.settings.intervalMs, () => this.tick());
    } else {
      this.close();
    }
  }

  /** Stops sampling. Idempotent. */
  close(): void {
    this.timer?.cancel();
    this.timer = null;
    this.waitingSinceMs = null;
    this.idleSinceMs = null;
  }

  /** The step to take now, given the pool's load; keeps the timers of the two conditions. */
  decide(nowMs: number, load: PoolLoad): ScaleStep {
    if (load.max <= load.min) {
      this.waitingSinceMs = this.idleSinceMs = null;
      return 'hold';
    }
    if (load.size < load.min || load.size > load.max) return 'hold'; // the pool is still converging on a scale
    // A worker that is starting will soon take work: wait for it rather than overshoot.
    const waiting = load.queued > 0 && load.idle === 0 && load.starting === 0;
    const idle = load.queued === 0 && load.idle > 0;
    this.waitingSinceMs = waiting ? (this.waitingSinceMs ?? nowMs) : null;
    this.idleSinceMs = idle ? (this.idleSinceMs ?? nowMs) : null;
    if (this.waitingSinceMs !== null && load.size < load.max && nowMs - this.waitingSinceMs >= this.settings.scaleUpAfterMs) {
      this.waitingSinceMs = null;
      return 'up';
    }
    if (this.idleSinceMs !== null && load.size > load.min && nowMs - this.idleSinceMs >= this.settings.scaleDownAfterMs) {
      // The next step down needs another full idle period.
      this.idleSinceMs = null;
      return 'down';
    }
    return 'hold';
  }

  private tick(): void {
    this.timer = null;
    const load = this.sample();
    const step = this.decide(this.clock.now(), load);
    if (step !== 'hold') this.act(step);
    if (load.max > load.min) this.timer = this.clock.after(this.settings.intervalMs, () => this.tick());
  }
}

const isNonNegativeInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * A model's settings: model-config.yaml `autoscaleUpAfterMs` / `autoscaleDownAfterSec` win over
 * the server's (config keys `autoscale_up_after_ms`, `autoscale_down_after_sec`).
 */
export function autoscaleSettings(server: AutoscaleSettings, yaml: Readonly<Record<string, unknown>> | null): AutoscaleSettings {
  const up = yaml?.autoscaleUpAfterMs;
  const down = yaml?.autoscaleDownAfterSec;
  return {
    scaleUpAfterMs: isNonNegativeInt(up) ? up : server.scaleUpAfterMs,
    scaleDownAfterMs: isNonNegativeInt(down) ? down * 1000 : server.scaleDownAfterMs,
    intervalMs: server.intervalMs,
  };
}
