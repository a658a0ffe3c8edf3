// Who a CLI change is recorded as (registry versions, alias moves, policies): `--by` when given, else
// the operating-system user running the command.
import { userInfo } from 'node:os';

export function actor(by?: string): string {
  if (by) return by;
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown'; // no passwd entry for the uid (some containers)
  }
}
