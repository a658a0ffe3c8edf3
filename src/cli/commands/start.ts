// `secondread start` (`npm start`): the platform on the embedded default — today the HTTP API server
// (`secondread serve` with its defaults: SQLite + local files under $SECONDREAD_HOME, port 8080). Before
// serving it says what the store holds and what to do when it is empty; the demo bootstrap and the web UI
// (dataset → model → policy → demo users) are not built yet.
import type { Command } from 'commander';
import { ModelRegistry, Tracker } from '../../tracking/index.js';
import { UserStore } from '../../workflow/users.js';
import { withContext } from '../context.js';
import { print } from './runs.js';

async function describeStore(): Promise<string[]> {
  return withContext(async (ctx) => {
    const db = await ctx.db();
    const objects = ctx.objects();
    const models = await new ModelRegistry(db, objects, new Tracker(db, objects)).listModels();
    const users = await new UserStore(db).listUsers();
    const lines = [`secondread on the embedded default (state in ${ctx.config.home})`];
    lines.push(
      models.length
        ? `models: ${models.map((m) => `${m.name} (v${m.latestVersion}${m.aliases.production ? `, production v${m.aliases.production}` : ''})`).join(', ')}`
        : 'no models yet: train one (npx secondread train --help) and `npx secondread models register`, or `models import` an ONNX classifier',
    );
    lines.push(users.length ? `API users: ${users.length}` : 'no API users yet: `npx secondread users add <name> --role admin` prints a token (every API route but health needs one)');
    return lines;
  });
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('start the platform on the embedded default (today: the API server, as `secondread serve` with its defaults)')
    .action(async () => {
      print((await describeStore()).join('\n'));
      const serve = program.commands.find((c) => c.name() === 'serve');
      if (!serve) throw new Error('the serve command is not registered');
      await serve.parseAsync([], { from: 'user' });
    });
}
