// Canonical JSON: object keys sorted at every level, so equal values always serialize to the same text and a
// hash over it (a dataset version's id, an audit entry's chain hash) depends on the value, not on key order.
// In core/ because the data ETL and the workflow's audit trail both hash with it.

/** JSON with object keys sorted at every level, so equal values always serialize identically. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}
