// The engine's own error type: src/engine is a standalone library, so it does not use src/core's errors.
// Every misuse (shape mismatch, unknown op, missing gradient rule) carries a stable code callers match on.

export type EngineErrorCode =
  'shape_mismatch' | 'invalid_argument' | 'unknown_tensor' | 'duplicate_name' | 'unsupported_op' | 'no_gradient_rule' | 'invalid_model';

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: EngineErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
    this.details = details;
  }
}
