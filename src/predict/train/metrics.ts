/**
 * Evaluation metrics with sklearn's definitions. Binary metrics take labels 0/1 and the score or predicted label of
 * class 1; probabilities are row-major n x K.
 */

/** Area under the ROC curve (Mann-Whitney, tied scores get their average rank); NaN without both classes. */
export function rocAuc(y: ArrayLike<number>, score: ArrayLike<number>): number {
  const n = y.length;
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => score[a] - score[b]);
  let positives = 0;
  let rankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && score[order[end]] === score[order[start]]) end++;
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) {
      if (y[order[k]] === 1) {
        positives++;
        rankSum += rank;
      }
    }
    start = end;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Average precision (sklearn's area under the precision-recall curve): Σ (R_k - R_k-1) · P_k over distinct thresholds. */
export function averagePrecision(y: ArrayLike<number>, score: ArrayLike<number>): number {
  const n = y.length;
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => score[b] - score[a]);
  let positives = 0;
  for (let i = 0; i < n; i++) if (y[i] === 1) positives++;
  if (positives === 0) return Number.NaN;
  let tp = 0;
  let fp = 0;
  let recall = 0;
  let ap = 0;
  for (let start = 0; start < n; ) {
    let end = start;
    while (end < n && score[order[end]] === score[order[start]]) {
      if (y[order[end]] === 1) tp++;
      else fp++;
      end++;
    }
    const nextRecall = tp / positives;
    ap += (nextRecall - recall) * (tp / (tp + fp));
    recall = nextRecall;
    start = end;
  }
  return ap;
}

/** F1 of the `positive` class: 2·TP / (2·TP + FP + FN); 0 when there is nothing to count. */
export function f1Score(y: ArrayLike<number>, predicted: ArrayLike<number>, positive = 1): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < y.length; i++) {
    if (predicted[i] === positive) {
      if (y[i] === positive) tp++;
      else fp++;
    } else if (y[i] === positive) fn++;
  }
  return tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

export function accuracy(y: ArrayLike<number>, predicted: ArrayLike<number>): number {
  let right = 0;
  for (let i = 0; i < y.length; i++) if (y[i] === predicted[i]) right++;
  return right / y.length;
}

/** Probabilities are clipped to [LOG_LOSS_EPS, 1 - LOG_LOSS_EPS] so a confident mistake costs a finite amount. */
export const LOG_LOSS_EPS = 1e-15;

/** Mean cross-entropy of class indices `y` under `probabilities` (n x k). */
export function logLoss(y: ArrayLike<number>, probabilities: ArrayLike<number>, k: number): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    const p = Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, probabilities[i * k + y[i]]));
    sum -= Math.log(p);
  }
  return sum / y.length;
}

export function rmse(y: ArrayLike<number>, predicted: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += (y[i] - predicted[i]) ** 2;
  return Math.sqrt(sum / y.length);
}

export function mae(y: ArrayLike<number>, predicted: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += Math.abs(y[i] - predicted[i]);
  return sum / y.length;
}

/** Coefficient of determination 1 - SSres/SStot; for a constant y, 1 when predicted exactly and 0 otherwise (sklearn). */
export function r2(y: ArrayLike<number>, predicted: ArrayLike<number>): number {
  let mean = 0;
  for (let i = 0; i < y.length; i++) mean += y[i];
  mean /= y.length;
  let residual = 0;
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    residual += (y[i] - predicted[i]) ** 2;
    total += (y[i] - mean) ** 2;
  }
  if (total === 0) return residual === 0 ? 1 : 0;
  return 1 - residual / total;
}
