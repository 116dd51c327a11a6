/**
 * Token bucket per caller: `perMinute` operations a minute with bursts up to `burst`. Every operation takes one token,
 * so a JSON-array batch of N operations takes N. In-process; each server process limits independently. Either figure
 * at 0 turns the limit off.
 */
export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private perMinute: number,
    readonly burst: number,
  ) {}

  get enabled(): boolean {
    return this.perMinute > 0 && this.burst > 0;
  }

  /**
   * Takes `n` tokens at once, or none: returns 0 when they were taken, else the seconds to wait until `n` will be
   * there (for `n` above the burst, until the bucket is full: it can never hold more).
   */
  take(who: string, now = Date.now(), n = 1): number {
    if (!this.enabled || n <= 0) return 0;
    const b = this.bucket(who, now);
    if (b.tokens >= n) {
      b.tokens -= n;
      return 0;
    }
    const rate = this.perMinute / 60_000;
    return Math.max(1, Math.ceil((Math.min(n, this.burst) - b.tokens) / rate / 1000));
  }

  /** Gives back `n` tokens taken for a request that was then refused as a whole (never above the burst). */
  refund(who: string, n: number, now = Date.now()): void {
    if (!this.enabled || n <= 0) return;
    const b = this.bucket(who, now);
    b.tokens = Math.min(this.burst, b.tokens + n);
  }

  private bucket(who: string, now: number): { tokens: number; at: number } {
    const rate = this.perMinute / 60_000;
    let b = this.buckets.get(who);
    if (!b) {
      if (this.buckets.size > 50_000) this.buckets.clear();
      b = { tokens: this.burst, at: now };
      this.buckets.set(who, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + Math.max(0, now - b.at) * rate);
    b.at = Math.max(b.at, now);
    return b;
  }
}
