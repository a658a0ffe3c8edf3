// Step 7: the demo users, one per role, with generated passwords. The passwords go to the credentials file
// (mode 0600) first; then each user is created with theirs, or given it when they exist without a recorded one.
import { readFile } from 'node:fs/promises';

import { ConflictError, NotFoundError } from '../../core/errors.js';
import type { User } from '../../workflow/users.js';
import type { DemoContext, StepResult } from '../context.js';
import { completeCredentials, parseCredentials, writeCredentials } from '../credentials.js';

async function findUser(c: DemoContext, name: string): Promise<User | undefined> {
  try {
    return await c.users.getUser(name);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

export async function usersStep(c: DemoContext): Promise<StepResult> {
  const text = await readFile(c.paths.credentials, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  const recorded = parseCredentials(text);
  const creds = completeCredentials(recorded);
  // Users whose password was made just now: the file must hold it before any user gets it.
  const fresh = new Set(creds.filter((x) => !recorded.some((r) => r.name === x.name && r.role === x.role)).map((x) => x.name));
  if (fresh.size > 0) await writeCredentials(c.paths.credentials, creds);

  const done: string[] = [];
  for (const cred of creds) {
    const user = await findUser(c, cred.name);
    if (!user) {
      await c.users.addUserWithPassword(cred);
      done.push(`${cred.name} created`);
    } else if (user.role !== cred.role) {
      throw new ConflictError(
        `user '${cred.name}' already exists with role ${user.role} (the demo needs ${cred.role}); start with --no-demo or use another SECONDREAD_HOME`,
        { name: cred.name },
      );
    } else if (!user.hasPassword || fresh.has(cred.name)) {
      await c.users.setPassword(cred.name, cred.password);
      done.push(`${cred.name} password set`);
    }
  }
  c.out.credentials = creds;
  const who = creds.map((x) => `${x.name} (${x.role})`).join(', ');
  return { outcome: done.length ? 'ran' : 'reused', detail: `${who}; passwords in ${c.paths.credentials}` };
}
