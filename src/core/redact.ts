// Connection URLs go into logs and error messages; their passwords must not.

/** The URL without its password, for messages ('(unparseable URL)' when it is not a URL). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
