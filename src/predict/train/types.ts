/** What every estimator's fit and trainModel accept besides the data. */
export interface FitOptions {
  /**
   * Checked between iterations; when aborted, fitting stops by throwing `signal.reason` (an AbortError by default).
   * Fitting is synchronous, so inside a worker thread no message can abort it: abort a controller from onProgress
   * instead (for example when a SharedArrayBuffer flag set by the main thread says so).
   */
  signal?: AbortSignal;
  /** Called after every iteration with the fraction done (0-1) and what is happening. */
  onProgress?: (fraction: number, message: string) => void;
}

/** A dense row-major matrix: entry (i, j) is data[i * cols + j]. */
export interface Dense {
  data: Float64Array;
  rows: number;
  cols: number;
}

/** Stops a fit between iterations when its signal is aborted. */
export function checkAborted(signal: AbortSignal | undefined): void {
  signal?.throwIfAborted();
}

/** The options for one part of a longer fit: its progress fills [from, from + share) of the caller's. */
export function subProgress(opts: FitOptions, from: number, share: number, prefix: string): FitOptions {
  const report = opts.onProgress;
  return {
    signal: opts.signal,
    onProgress: report ? (fraction, message) => report(from + share * fraction, prefix ? `${prefix}: ${message}` : message) : undefined,
  };
}
