/**
 * A summary of refused messages, logged on a timer: each distinct reason with its count and the last topic it came
 * on, so that a device sending two kinds of bad messages shows both (not just the newest), and a burst is reported
 * even when no further bad message follows it. Distinct reasons are bounded: past `maxReasons`, the rest are counted
 * together.
 */
export interface RefusedReason {
  reason: string;
  count: number;
  lastTopic: string;
}

export class RefusalSummary {
  private reasons = new Map<string, RefusedReason>();
  private others = 0;

  constructor(private readonly maxReasons = 20) {}

  add(reason: string, topic: string): void {
    const r = this.reasons.get(reason);
    if (r) {
      r.count++;
      r.lastTopic = topic;
    } else if (this.reasons.size < this.maxReasons) this.reasons.set(reason, { reason, count: 1, lastTopic: topic });
    else this.others++;
  }

  /** What was refused since the last take (most frequent first), or null when nothing was; starts a new period. */
  take(): { refused: number; reasons: RefusedReason[]; otherReasons: number } | null {
    if (this.reasons.size === 0) return null;
    const reasons = [...this.reasons.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
    const refused = reasons.reduce((n, r) => n + r.count, 0) + this.others;
    const summary = { refused, reasons, otherReasons: this.others };
    this.reasons = new Map();
    this.others = 0;
    return summary;
  }
}
