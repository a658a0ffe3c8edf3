// `secondread runs ls | show | compare`: the tracked training runs as readable tables (or --json).
import type { Command } from 'commander';

import { ValidationError } from '../../core/errors.js';
import { renderTable } from '../../data/validate/table.js';
import { RUN_STATUSES, type RunStatus, Tracker } from '../../tracking/index.js';
import { compareRuns, flattenParams, formatDuration, runDetails } from '../../tracking/run-report.js';
import { type CliContext, withContext } from '../context.js';

export const print = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
export const printJson = (v: unknown): void => print(JSON.stringify(v, null, 2));
/** An ISO timestamp as 'YYYY-MM-DD hh:mm:ss' (UTC). */
export const when = (iso: string | null): string => (iso ? iso.replace('T', ' ').slice(0, 19) : '');
/** Figures with 4 significant digits; integers as they are. */
export const fmtNumber = (v: number | null | undefined): string =>
  v === null || v === undefined ? '—' : Number.isInteger(v) ? String(v) : Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v);

const tracker = async (ctx: CliContext): Promise<Tracker> => new Tracker(await ctx.db(), ctx.objects());

export function registerRuns(program: Command): void {
  const runs = program.command('runs').description('experiment tracking: list, show and compare training runs');

  runs
    .command('ls')
    .description('list runs, newest first')
    .option('--experiment <name>', 'only runs of this experiment')
    .option('--status <status>', `only runs with this status (${RUN_STATUSES.join(', ')})`)
    .option('--limit <n>', 'at most this many runs', '50')
    .option('--json', 'print as JSON')
    .action(async (opts: { experiment?: string; status?: string; limit: string; json?: boolean }) => {
      if (opts.status !== undefined && !RUN_STATUSES.includes(opts.status as RunStatus))
        throw new ValidationError(`--status must be one of ${RUN_STATUSES.join(', ')}`);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new ValidationError('--limit must be a positive integer');
      await withContext(async (ctx) => {
        const list = await (await tracker(ctx)).listRuns({ experiment: opts.experiment, status: opts.status as RunStatus | undefined, limit });
        if (opts.json) return printJson(list);
        if (list.length === 0) return print('no runs yet: start one with `secondread train`');
        const summaryKey = (s: Record<string, number> | null) => (s ? (['test_accuracy', 'val_accuracy'].find((k) => k in s) ?? null) : null);
        print(
          renderTable(
            ['run', 'experiment', 'name', 'status', 'started (UTC)', 'duration', 'dataset', 'accuracy'],
            list.map((r) => {
              const k = summaryKey(r.summary);
              return [
                r.id,
                r.experiment,
                r.name,
                r.status,
                when(r.startedAt),
                formatDuration(r.startedAt, r.endedAt) ?? '',
                r.datasetVersion ?? '',
                k ? `${fmtNumber(r.summary![k])} (${k.replace('_accuracy', '')})` : '',
              ];
            }),
          ),
        );
      });
    });

  runs
    .command('show <run>')
    .description('a run: params, lineage, final metrics and artifacts')
    .option('--json', 'print as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      await withContext(async (ctx) => {
        const d = await runDetails(await tracker(ctx), id);
        if (opts.json) return printJson(d);
        const r = d.run;
        const out: string[] = [];
        out.push(`run ${r.id} (${r.name}) — experiment ${r.experiment}`);
        out.push(
          renderTable(
            ['field', 'value'],
            [
              ['status', r.status],
              ['started (UTC)', when(r.startedAt)],
              ['ended (UTC)', when(r.endedAt)],
              ['duration', formatDuration(r.startedAt, r.endedAt) ?? '(running)'],
              ['dataset version', r.datasetVersion ?? ''],
              ['parent run', r.parentRunId ?? ''],
              ['code version', r.codeVersion ?? '(not a git checkout)'],
              ['host', r.host],
              ...Object.entries(r.tags).map(([k, v]) => [`tag ${k}`, v]),
            ],
          ),
        );
        const params = Object.entries(flattenParams(r.params));
        out.push('', 'params', params.length ? renderTable(['param', 'value'], params) : '(none)');
        const summary = Object.entries(r.summary ?? {});
        if (summary.length)
          out.push(
            '',
            'summary',
            renderTable(
              ['figure', 'value'],
              summary.map(([k, v]) => [k, fmtNumber(v)]),
            ),
          );
        const metrics = Object.entries(d.metrics);
        out.push(
          '',
          'final metrics (last logged value)',
          metrics.length
            ? renderTable(
                ['metric', 'value'],
                metrics.map(([k, v]) => [k, fmtNumber(v)]),
              )
            : '(none)',
        );
        out.push(
          '',
          'artifacts',
          d.artifacts.length
            ? renderTable(
                ['name', 'bytes', 'object key'],
                d.artifacts.map((a) => [a.name, a.size, a.key]),
              )
            : '(none)',
        );
        print(out.join('\n'));
      });
    });

  runs
    .command('compare [runs...]')
    .description('runs side by side: params and metrics (* marks values that differ)')
    .option('--experiment <name>', "compare the finished runs of an experiment (a sweep's: sweep-<name>) instead of listing ids")
    .option('--all', 'also show params and metrics that are the same in every run')
    .option('--json', 'print as JSON')
    .action(async (given: string[], opts: { experiment?: string; all?: boolean; json?: boolean }) => {
      if (opts.experiment !== undefined && given.length > 0) throw new ValidationError('give run ids or --experiment, not both');
      await withContext(async (ctx) => {
        const t = await tracker(ctx);
        // Oldest first, so a sweep's trials read in their order.
        const ids = opts.experiment !== undefined ? (await t.listRuns({ experiment: opts.experiment, status: 'finished' })).map((r) => r.id).reverse() : given;
        if (ids.length < 2)
          throw new ValidationError(
            opts.experiment !== undefined
              ? `experiment '${opts.experiment}' has ${ids.length} finished run(s): nothing to compare`
              : 'give at least two run ids to compare',
          );
        const c = await compareRuns(t, ids);
        if (opts.json) return printJson(c);
        const header = ['', ...c.runs.map((r) => r.id)];
        const out: string[] = [];
        out.push(
          renderTable(header, [
            ['name', ...c.runs.map((r) => r.name)],
            ['experiment', ...c.runs.map((r) => r.experiment)],
            ['status', ...c.runs.map((r) => r.status)],
            ['started (UTC)', ...c.runs.map((r) => when(r.startedAt))],
            ['duration', ...c.runs.map((r) => formatDuration(r.startedAt, r.endedAt) ?? '(running)')],
          ]),
        );
        const params = c.params.filter((p) => opts.all || p.differs);
        out.push(
          '',
          `params${opts.all ? '' : ' that differ'}`,
          params.length
            ? renderTable(
                header,
                params.map((p) => [`${p.differs ? '* ' : '  '}${p.key}`, ...p.values.map((v) => v ?? '—')]),
              )
            : '(none)',
        );
        out.push(
          '',
          'metrics',
          c.metrics.length
            ? renderTable(
                header,
                c.metrics.map((m) => [`${m.differs ? '* ' : '  '}${m.key}`, ...m.values.map(fmtNumber)]),
              )
            : '(none)',
        );
        print(out.join('\n'));
      });
    });
}
