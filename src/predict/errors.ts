/** Typed errors of models and inference: each has a stable code; messages quote user data cut (core/errors.ts). */
import { AppError, cutText, type FieldError } from '../core/errors.ts';

/** A reason from onnxruntime or protobufjs quoted in a message is cut to this many characters. */
export const REASON_MAX = 300;

const reason = (text: string) => cutText(text.replace(/\s+/g, ' ').trim(), REASON_MAX);

/** The bytes are not an ONNX model: empty, not a protobuf ModelProto, truncated, or without a usable graph. */
export class InvalidModelError extends AppError {
  readonly code = 'INVALID_MODEL';
  constructor(readonly reason: string) {
    super(`Not an ONNX model: ${reason}`);
  }
}

/** onnxruntime refused to load the model; `reason` is its message, cut. */
export class ModelLoadError extends AppError {
  readonly code = 'MODEL_LOAD_FAILED';
  readonly reason: string;
  constructor(runtimeMessage: string) {
    const cut = reason(runtimeMessage);
    super(`onnxruntime could not load the model: ${cut}`);
    this.reason = cut;
  }
}

/** A node uses an operator onnxruntime does not implement (or not at the model's opset version). */
export class UnsupportedOperatorError extends AppError {
  readonly code = 'UNSUPPORTED_OPERATOR';
  constructor(
    readonly opType: string,
    /** '' is the default ONNX domain (ai.onnx). */
    readonly domain: string,
    detail?: string,
  ) {
    super(
      `The model uses operator ${opType} of domain ${JSON.stringify(domain || 'ai.onnx')}, which onnxruntime does not support${detail ? ` (${reason(detail)})` : ''}`,
    );
  }
}

export class ModelTooLargeError extends AppError {
  readonly code = 'MODEL_TOO_LARGE';
  constructor(
    readonly limitBytes: number,
    readonly sizeBytes?: number,
  ) {
    super(
      `The model is larger than the limit of ${limitBytes.toLocaleString('en-US')} bytes${sizeBytes === undefined ? '' : ` (${sizeBytes.toLocaleString('en-US')} bytes)`}`,
    );
  }
}

/**
 * Inference input that does not fit the model's inputs: every problem with its path (`rows[2]`, `inputs.age[3][0]`),
 * at most LISTED_PROBLEMS of them listed, the rest counted.
 */
export class InputMismatchError extends AppError {
  readonly code = 'INPUT_MISMATCH';
  readonly problemCount: number;
  constructor(
    readonly fieldErrors: FieldError[],
    problemCount = fieldErrors.length,
  ) {
    const count = Math.max(problemCount, fieldErrors.length);
    const first = fieldErrors[0];
    super(
      count === 1 && first
        ? `Input does not match the model: ${first.path}: ${first.message}`
        : `Input does not match the model: ${count.toLocaleString('en-US')} problems, first ${first?.path}: ${first?.message}`,
    );
    this.problemCount = count;
  }
  static single(path: string, message: string): InputMismatchError {
    return new InputMismatchError([{ path, message }]);
  }
}

/** The model ran but failed, or gave a non-finite result; `rows` are the rows concerned (0-based), when known. */
export class InferenceError extends AppError {
  readonly code = 'INFERENCE_FAILED';
  constructor(
    message: string,
    readonly rows?: number[],
  ) {
    super(message);
  }
  static fromRuntime(runtimeMessage: string, rows?: number[]): InferenceError {
    return new InferenceError(`onnxruntime failed to run the model: ${reason(runtimeMessage)}`, rows);
  }
}
