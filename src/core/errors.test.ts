import { describe, expect, it } from 'vitest';

import { describeError, InvalidImageError, NotFoundError, SecondreadError } from './errors.js';

describe('SecondreadError', () => {
  it('carries a stable code and HTTP status, and serializes without a stack', () => {
    const e = new InvalidImageError('not a PNG', { bytes: 12 });
    expect(e).toBeInstanceOf(SecondreadError);
    expect(e.name).toBe('InvalidImageError');
    expect(e.httpStatus).toBe(422);
    expect(JSON.stringify(e)).toBe('{"code":"invalid_image","message":"not a PNG","details":{"bytes":12}}');
    expect(new NotFoundError('dataset version', 'abc').httpStatus).toBe(404);
  });

  it('describes any thrown value in one line', () => {
    expect(describeError(new NotFoundError('model', 'm1'))).toBe("model 'm1' was not found [not_found]");
    expect(describeError(new Error('boom'))).toBe('boom');
    expect(describeError(42)).toBe('42');
  });
});
