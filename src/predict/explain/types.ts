/**
 * The space contributions are stated in: 'value' (regression and forecast output), 'log_odds' (binary
 * classification: the log-odds of classes[1]), 'softmax_logit' (multiclass: the chosen class's score before the
 * softmax), 'model_output' (whatever the predict function of Kernel SHAP returns).
 */
export type ExplanationSpace = 'value' | 'log_odds' | 'softmax_logit' | 'model_output';

/** base + Σ contributions = the model's output for the row, in `space`. */
export interface Explanation {
  space: ExplanationSpace;
  /** The expected output: over the training rows (linear models, trees) or the background rows (Kernel SHAP). */
  base: number;
  /** One per original feature, in the model's feature order (a categorical feature's one-hot inputs summed). */
  contributions: number[];
}
