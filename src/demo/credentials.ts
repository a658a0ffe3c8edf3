// The demo users and their generated passwords. The passwords are written to
// $SECONDREAD_HOME/demo-credentials.txt (mode 0600) BEFORE the users are created with them, so an interrupted
// bootstrap never ends with users whose passwords nobody knows: the next run reads the file back and creates
// or resets the users with the same passwords.
import { randomBytes } from 'node:crypto';

import { type Role, ROLES } from '../workflow/users.js';
import { writeFileAtomic } from './state.js';

export interface DemoUser {
  name: string;
  role: Role;
  /** What the user does in the demo (shown in the summary). */
  does: string;
}

export interface DemoCredential {
  name: string;
  role: Role;
  password: string;
}

export const DEMO_USERS: readonly DemoUser[] = [
  { name: 'reader-a', role: 'reader', does: 'first reads (worklist A)' },
  { name: 'reader-b', role: 'adjudicator', does: 'second reads and adjudication (worklist B)' },
  { name: 'ml-engineer', role: 'ml-engineer', does: 'datasets, runs, models, policies' },
  { name: 'admin', role: 'admin', does: 'everything' },
];

/** 18 URL-safe characters from 108 random bits: above the login's 12-character minimum, easy to copy. */
export function generatePassword(): string {
  return randomBytes(14).toString('base64url').slice(0, 18);
}

const HEADER = [
  '# secondread demo users, made by `npm start` (docs/quickstart.md). Log in to the web UI with these.',
  '# Delete this file once you have noted them; change a password with `npx secondread users passwd <name> --password-stdin`.',
  '# name          role          password',
];

export function formatCredentials(creds: readonly DemoCredential[]): string {
  return `${[...HEADER, ...creds.map((c) => `${c.name.padEnd(15)} ${c.role.padEnd(13)} ${c.password}`)].join('\n')}\n`;
}

/** The credentials in a file written by formatCredentials; lines that do not parse are ignored. */
export function parseCredentials(text: string): DemoCredential[] {
  const out: DemoCredential[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const [name, role, password, extra] = line.trim().split(/\s+/);
    if (!name || !role || !password || extra !== undefined || !(ROLES as readonly string[]).includes(role)) continue;
    out.push({ name, role: role as Role, password });
  }
  return out;
}

/** Writes the credentials file readable by its owner only (a new file renamed over any old one: never a wider mode). */
export async function writeCredentials(path: string, creds: readonly DemoCredential[]): Promise<void> {
  await writeFileAtomic(path, formatCredentials(creds), 0o600);
}

/** Every demo user with the password recorded for them, or a new one. */
export function completeCredentials(recorded: readonly DemoCredential[]): DemoCredential[] {
  return DEMO_USERS.map((u) => {
    const known = recorded.find((c) => c.name === u.name && c.role === u.role);
    return { name: u.name, role: u.role, password: known?.password ?? generatePassword() };
  });
}
