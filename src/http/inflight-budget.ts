// The front end's memory for request bodies is bounded (issue 21, bounded memory): every body byte
// held by a request that is not yet answered is counted against max_inflight_request_bytes. A request
// whose body would go over it is refused with 503 before its body is buffered, instead of the
// process growing until the operating system kills it.

/** The bytes held by all requests in flight, against one limit. */
export interface BudgetEvents {
  /** Held bytes went from some to none; `peakBytes` is the most held since the last time. */
  drained?(peakBytes: number): void;
  /** Held bytes went from none to some. */
  busy?(): void;
}

export class InflightBudget {
  private heldBytes = 0;
  private peakBytes = 0;

  constructor(
    readonly limitBytes: number,
    private readonly events: BudgetEvents = {},
  ) {}

  get held(): number {
    return this.heldBytes;
  }

  /** Takes `bytes` if they fit; false (and nothing taken) if they do not. */
  tryTake(bytes: number): boolean {
    if (!(bytes > 0)) return true;
    if (this.heldBytes + bytes > this.limitBytes) return false;
    if (this.heldBytes === 0) this.events.busy?.();
    this.heldBytes += bytes;
    this.peakBytes = Math.max(this.peakBytes, this.heldBytes);
    return true;
  }

  giveBack(bytes: number): void {
    const before = this.heldBytes;
    this.heldBytes = Math.max(0, this.heldBytes - bytes);
    if (before > 0 && this.heldBytes === 0) {
      const peak = this.peakBytes;
      this.peakBytes = 0;
      this.events.drained?.(peak);
    }
  }

  /** One request's share: what it declared up front, grown chunk by chunk past that, returned once. */
  allowance(): BodyAllowance {
    return new BodyAllowance(this);
  }
}

export class BodyAllowance {
  private takenBytes = 0;
  private receivedBytes = 0;
  private returned = false;

  constructor(private readonly budget: InflightBudget) {}

  get limitBytes(): number {
    return this.budget.limitBytes;
  }

  /** Reserves a declared Content-Length before any of the body is read. */
  reserve(bytes: number): boolean {
    if (this.returned || !this.budget.tryTake(bytes)) return false;
    this.takenBytes += bytes;
    return true;
  }

  /** Counts a received chunk; takes from the budget only what goes beyond the reservation. */
  received(bytes: number): boolean {
    this.receivedBytes += bytes;
    const beyond = this.receivedBytes - this.takenBytes;
    return beyond <= 0 || this.reserve(beyond);
  }

  /** When the response is finished or the connection is gone. Idempotent. */
  giveBack(): void {
    if (this.returned) return;
    this.returned = true;
    this.budget.giveBack(this.takenBytes);
    this.takenBytes = 0;
  }
}
