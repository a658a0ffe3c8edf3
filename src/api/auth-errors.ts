// Errors of the login routes (src/api/routes/auth.ts). They are SecondreadErrors, so errors.ts's
// sendError maps them like every other: status and stable code from the error, and for 429 the
// `Retry-After` header from `details.retryAfterSeconds`.
import { SecondreadError } from '../core/errors.js';

/** Wrong name or password — deliberately the same answer for an unknown user, a disabled one, or one without a password. */
export class InvalidCredentialsError extends SecondreadError {
  constructor() {
    super('invalid_credentials', 'the user name or password is wrong', 401);
  }
}

/** Too many failed logins from this client or for this user name; retry after the given seconds. */
export class RateLimitedError extends SecondreadError {
  constructor(retryAfterSeconds: number) {
    super('rate_limited', `too many failed logins: try again in ${retryAfterSeconds} s`, 429, { retryAfterSeconds });
  }
}
