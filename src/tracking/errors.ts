// The registry's own failure: a model file that cannot be used (not ONNX, truncated, shapes that do
// not match its metadata, non-finite output). 422: the request was understood, the file is bad.
import { SecondreadError } from '../core/errors.js';

export class InvalidModelError extends SecondreadError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('invalid_model', message, 422, details);
  }
}
