/**
 * What a model trained in the server is, independent of ONNX: the trainers (src/predict/train/) produce a ModelSpec,
 * the exporter (src/predict/onnx/) writes it as an ONNX graph that onnxruntime serves, and explanations
 * (TreeSHAP, exact linear contributions) read it directly. Stored beside the ONNX bytes of every trained model.
 */

/** How one original feature column becomes estimator inputs. Part of the exported graph. */
export type ColumnPrep =
  /** One estimator input: ((isNaN(x) ? impute : x) - center) / scale; `impute` is a raw value (the training mean). */
  | { name: string; kind: 'numeric'; impute: number; center: number; scale: number }
  /** `categories.length` estimator inputs, one-hot; a value not in `categories` (or missing) is all zeros. */
  | {
      name: string;
      kind: 'categorical';
      categories: string[];
      /** Share of the training rows in each category (same order); explanations use it as the expected one-hot value. */
      frequencies?: number[];
    };

/**
 * The estimator's input vector is the columns in order, each numeric column one entry and each categorical column
 * `categories.length` entries. Indices in the estimator (coefficients, tree features) refer to that expanded vector.
 */
export interface Preprocessing {
  columns: ColumnPrep[];
}

/**
 * One regression tree in flat arrays, node 0 the root. A leaf has left = right = -1. A split sends x[feature] <=
 * threshold to `left` (ONNX BRANCH_LEQ) and a NaN to `left` when missingLeft. After preprocessing no NaN reaches a
 * tree (the imputer fills it), so missingLeft only matters for graphs without imputation.
 */
export interface Tree {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  missingLeft: boolean[];
  /** Leaf output, already multiplied by the learning rate; 0 for splits. */
  value: number[];
  /** Training weight (rows, or hessian sum) that reached each node; TreeSHAP needs it. */
  cover: number[];
}

export type EstimatorSpec =
  /** y = coefficients[0] · x + intercepts[0]. */
  | { kind: 'linear'; coefficients: number[][]; intercepts: number[] }
  /**
   * Binary (classes.length = 2): one row, P(classes[1]) = sigmoid(w · x + b).
   * Multiclass (K > 2): K rows, P(classes[k]) = softmax_k(w_k · x + b_k).
   */
  | { kind: 'logistic'; coefficients: number[][]; intercepts: number[]; classes: string[] }
  /**
   * margin[s] = base[s] + sum of the trees with output s. Regression: one score, y = margin[0].
   * Binary: one score, P(classes[1]) = sigmoid(margin[0]). Multiclass: K scores, softmax.
   */
  | { kind: 'trees'; objective: 'regression' | 'binary' | 'multiclass'; base: number[]; trees: { tree: Tree; output: number }[]; classes?: string[] };

export type SpecTask = 'REGRESSION' | 'CLASSIFICATION' | 'FORECAST';

export interface ModelSpec {
  task: SpecTask;
  /** The original feature names, in the order callers give them (numeric ones are the columns of the float input). */
  features: string[];
  prep: Preprocessing;
  estimator: EstimatorSpec;
}

/**
 * The ONNX interface of an exported ModelSpec (fixed, so serving and explanations can rely on it):
 * - input `numeric`: float32 [N, n] with the numeric columns in prep order (absent when there are none);
 * - one input per categorical column, named by the column: string [N, 1];
 * - regression and forecast: output `value` float32 [N, 1];
 * - classification: outputs `label` (string [N]) and `probabilities` float32 [N, K] in `classes` order; the class
 *   labels are also stored in the model's metadata_props under `plantgraph.classes` (a JSON array).
 */
export const ONNX_NUMERIC_INPUT = 'numeric';
export const ONNX_VALUE_OUTPUT = 'value';
export const ONNX_LABEL_OUTPUT = 'label';
export const ONNX_PROBABILITIES_OUTPUT = 'probabilities';
export const ONNX_CLASSES_METADATA = 'plantgraph.classes';
