import { jobText } from './job.ts';

export interface ProgressValue {
  progress?: number;
  message?: string;
}

/**
 * The progress of one run, written at most once per `intervalMs`: reports in between are merged (the latest
 * fraction, the latest message given) into one write at the end of the interval. One write at a time, in order;
 * nothing is written after `close()`, which hands the latest values to the final write instead.
 */
export class ProgressWriter {
  private pending: ProgressValue | null = null;
  private readonly latest: ProgressValue = {};
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly write: (progress: number, message: string | undefined) => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** `fraction` is clamped to 0..1 (NaN keeps the previous one); `message` undefined keeps the previous message. */
  report(fraction: number, message?: string): void {
    if (this.closed) return;
    const given = typeof fraction === 'number' && !Number.isNaN(fraction) ? Math.min(1, Math.max(0, fraction)) : undefined;
    const text = message === undefined || message === null ? undefined : jobText(String(message));
    const progress = given ?? this.pending?.progress ?? this.latest.progress ?? 0;
    this.pending = { progress, message: text ?? this.pending?.message };
    this.latest.progress = progress;
    if (text !== undefined) this.latest.message = text;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.inFlight || this.closed) return;
    const wait = this.lastWriteAt + this.intervalMs - performance.now();
    if (wait <= 0) {
      this.writePending();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.writePending();
    }, wait);
    this.timer.unref();
  }

  private writePending(): void {
    const p = this.pending;
    if (!p || this.closed) return;
    this.pending = null;
    this.lastWriteAt = performance.now();
    this.inFlight = this.write(p.progress ?? 0, p.message)
      .catch(this.onError)
      .finally(() => {
        this.inFlight = null;
        if (this.pending) this.schedule();
      });
  }

  /** Stops writing, waits for a write in flight, and returns the latest values reported. */
  async close(): Promise<ProgressValue> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
    return this.latest;
  }
}
