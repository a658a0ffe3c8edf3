// `secondread start` (`npm start`): the platform on the embedded default. On an empty store it first bootstraps
// a demo (src/demo: phantom dataset → model → production → policy → demo users → demo studies; resumable, a
// few minutes on 2 cores), then serves API + web UI as `secondread serve` does, with the demo model preloaded.
// Later starts find the demo complete and serve in seconds; `--no-demo` never bootstraps.
import { existsSync } from 'node:fs';

import type { Command } from 'commander';

import { describeError, SecondreadError } from '../../core/errors.js';
import { percent } from '../../core/format.js';
import { SECONDREAD_CLASSES } from '../../data/classes.js';
import { DEMO_MODEL, DEMO_USERS, type DemoCredential, type DemoOutcome, type DemoSummary, ensureDemo, type StepEvent } from '../../demo/index.js';
import { ModelRegistry, Tracker } from '../../tracking/index.js';
import { UserStore } from '../../workflow/users.js';
import { withContext } from '../context.js';
import { parseInteger } from '../parse.js';
import { createProgressRenderer } from '../progress.js';
import { print } from './runs.js';

interface StartFlags {
  demo: boolean;
  host?: string;
  port?: string;
}

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
    lines.push(
      users.length
        ? `users: ${users.length}`
        : 'no users yet: `npx secondread users add <name> --role admin` prints a token (every API route but health needs one)',
    );
    return lines;
  });
}

const secs = (s: number) => (s < 120 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);

/** The address a browser on this machine opens (a wildcard or loopback listener is reachable as localhost). */
export function browserUrl(host: string, port: number): string {
  const local = ['127.0.0.1', '::1', 'localhost', '0.0.0.0', '::', ''].includes(host);
  const shown = local ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return port === 0 ? `http://${shown}:<the port printed below>` : `http://${shown}:${port}`;
}

/** Lines in a box (stdout is often copied into notes: plain box-drawing characters, no colour codes). */
export function boxed(lines: readonly string[]): string {
  const width = Math.max(...lines.map((l) => [...l].length));
  const pad = (l: string) => l + ' '.repeat(width - [...l].length);
  return [`┌${'─'.repeat(width + 2)}┐`, ...lines.map((l) => `│ ${pad(l)} │`), `└${'─'.repeat(width + 2)}┘`].join('\n');
}

/** The end-of-bootstrap (or later start) summary: where to go, who to log in as, what the demo holds, how to stop or reset. */
export function formatDemoSummary(s: DemoSummary, url: string, credentials?: readonly DemoCredential[]): string {
  const m = s.model;
  const accuracy = m.test
    ? `test accuracy ${percent(m.test.accuracy)} on ${m.test.count} images`
    : `val accuracy ${percent(m.val.accuracy)} on ${m.val.count} images`;
  const byStatus = s.studies.byStatus;
  const studies = [
    byStatus.awaiting_a && `${byStatus.awaiting_a} in worklist A`,
    byStatus.awaiting_b && `${byStatus.awaiting_b} in worklist B`,
    byStatus.auto_finalized && `${byStatus.auto_finalized} auto-finalized`,
    byStatus.adjudicated && `${byStatus.adjudicated} adjudicated`,
  ].filter(Boolean);
  const nameW = Math.max(...DEMO_USERS.map((u) => u.name.length));
  const roleW = Math.max(...DEMO_USERS.map((u) => u.role.length));
  const users = credentials
    ? [
        'log in as (passwords shown this once):',
        ...credentials.map((c) => `  ${c.name.padEnd(nameW)}  ${c.role.padEnd(roleW)}  ${c.password}`),
        `  also in ${s.credentialsFile} (mode 0600)`,
      ]
    : [
        `log in as ${s.users.map((u) => u.name).join(', ')}`,
        existsSync(s.credentialsFile)
          ? `  passwords: ${s.credentialsFile}`
          : '  (the credentials file is gone: npx secondread users passwd <name> --password-stdin sets a new password)',
      ];
  return boxed([
    `secondread demo${credentials ? ' is ready' : ''} — open ${url}`,
    '',
    ...users,
    '',
    `model:   ${m.name} v${m.version} (production): ${m.architecture} ${m.inputSize}×${m.inputSize}, ${m.epochs} epochs in ${Math.round(m.trainSeconds)} s`,
    `         ${accuracy} (chance ${percent(1 / SECONDREAD_CLASSES.length)})`,
    '         trained on synthetic phantoms: a demo, not a medical device',
    `policy:  second-review reduction ${percent(s.policy.reduction)}, false-clear rate ${percent(s.policy.falseClearRate)} (bound ${percent(s.policy.maxFalseClear)})`,
    `         fitted on ${s.policy.fittedOn} val studies with a simulated reader A`,
    `studies: ${s.studies.total} from final_eval${studies.length ? `: ${studies.join(', ')}` : ''}`,
    `dataset: ${s.datasetVersion} (${s.images.total} images)`,
    '',
    'stop: Ctrl-C (the demo stays; the next npm start serves it in seconds)',
    'start empty: SECONDREAD_HOME=<new folder> npm start -- --no-demo',
    'reset the demo: docs/quickstart.md',
  ]);
}

/** Runs (or finds) the demo with progress bars and one line per step on stderr; Ctrl-C stops it resumably. */
async function bootstrapDemo(): Promise<{ outcome: DemoOutcome; host: string; port: number }> {
  return withContext(async (ctx) => {
    const progress = createProgressRenderer();
    const abort = new AbortController();
    const onSignal = (sig: NodeJS.Signals) => {
      if (abort.signal.aborted) process.exit(130); // second signal: give up at once
      process.stderr.write(
        `\n${sig}: stopping the demo bootstrap after the current step (training checkpoints); npm start continues it (again to quit at once)\n`,
      );
      abort.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let current: StepEvent | undefined;
    const onStep = (e: StepEvent) => {
      const tag = `[${e.index + 1}/${e.total}] ${e.title}`;
      if (e.kind === 'start') {
        current = e;
        process.stderr.write(`${tag} …\n`);
        return;
      }
      progress.stop();
      process.stderr.write(`${tag}: ${e.outcome === 'ran' ? 'done' : 'already done'} in ${secs(e.seconds)} — ${e.detail}\n`);
    };
    try {
      // The step lines say what happens; per-study info logs would only bury them (LOG_LEVEL=debug shows them).
      const logger = ctx.logger.child({ component: 'demo' }, { level: ctx.config.logLevel === 'info' ? 'warn' : ctx.config.logLevel });
      const outcome = await ensureDemo(
        { config: ctx.config, db: await ctx.db(), objects: ctx.objects(), logger, onProgress: progress.onProgress, signal: abort.signal },
        { onStep },
      );
      return { outcome, host: ctx.config.http.host, port: ctx.config.http.port };
    } catch (err) {
      progress.stop();
      const at = current ? ` at step ${current.index + 1}/${current.total} (${current.title})` : '';
      const next = 'run npm start again to continue from there, or `npm start -- --no-demo` to serve without the demo';
      if (abort.signal.aborted) throw new SecondreadError('interrupted', `demo bootstrap interrupted${at}: ${next}`, 409);
      throw new SecondreadError(
        err instanceof SecondreadError ? err.code : 'demo_failed',
        `demo bootstrap failed${at}: ${describeError(err)}\n${next}`,
        err instanceof SecondreadError ? err.httpStatus : 500,
        undefined,
        { cause: err },
      );
    } finally {
      progress.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description(
      'start the platform on the embedded default: on an empty store, bootstrap a demo (dataset, model, policy, users, studies) first; then serve API and web UI',
    )
    .option('--no-demo', 'never bootstrap the demo (an empty store stays empty)')
    .option('--host <host>', 'listen address (default: config http.host, HOST)')
    .option('--port <port>', 'listen port (default: config http.port, PORT)')
    .action(async (flags: StartFlags) => {
      const port = flags.port !== undefined ? parseInteger('--port', flags.port, 0, 65535) : undefined;
      const serveArgs = [...(flags.host !== undefined ? ['--host', flags.host] : []), ...(port !== undefined ? ['--port', String(port)] : [])];
      if (flags.demo) {
        const { outcome, host, port: configPort } = await bootstrapDemo();
        const url = browserUrl(flags.host ?? host, port ?? configPort);
        if (outcome.status === 'skipped') {
          print(`no demo: ${outcome.reason}`);
          print((await describeStore()).join('\n'));
        } else {
          print(formatDemoSummary(outcome.summary, url, outcome.status === 'created' ? outcome.credentials : undefined));
          // Warm before listening: the first study a reader opens is not the one that pays for loading the model.
          serveArgs.push('--preload', `${DEMO_MODEL}@production`);
        }
      } else {
        print((await describeStore()).join('\n'));
      }
      const serve = program.commands.find((c) => c.name() === 'serve');
      if (!serve) throw new Error('the serve command is not registered');
      await serve.parseAsync(serveArgs, { from: 'user' });
    });
}
