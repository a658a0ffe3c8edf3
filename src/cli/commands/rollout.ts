// `secondread rollout …`: the change protocol and the staged canary (docs/rollout.md). `evaluate` judges a
// candidate against the protocol file (pass → staging with its own policy; fail → rejected, exit 1 so a
// pipeline stops); `start`, `step`, `status`, `rollback` run the canary; `reports` lists the verdicts.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import type { Command } from 'commander';

import { renderTable } from '../../data/validate/table.js';
import { readProtocolFile, type Rollout, RolloutService, type StepJudgement, type StoredReport } from '../../rollout/index.js';
import { ModelRegistry, Tracker } from '../../tracking/index.js';
import { parseModelRef } from '../../training/retrain.js';
import { actor } from '../actor.js';
import { type CliContext, withContext } from '../context.js';
import { parseInteger } from '../parse.js';
import { createProgressRenderer } from '../progress.js';
import { print, printJson, when } from './runs.js';

const DEFAULT_PROTOCOL = 'change-protocol.yaml';

async function service(ctx: CliContext): Promise<{ rollout: RolloutService; registry: ModelRegistry }> {
  const db = await ctx.db();
  const objects = ctx.objects();
  const registry = new ModelRegistry(db, objects, new Tracker(db, objects));
  return { rollout: new RolloutService({ db, objects, registry, logger: ctx.logger, cacheDir: join(ctx.config.home, 'model-cache') }), registry };
}

const pct = (w: number): string => `${+(w * 100).toFixed(2)}%`;

export function reportText(r: StoredReport): string {
  const L = [
    `${r.model} v${r.version}: ${r.passed ? 'PASSED' : 'REJECTED'} by change protocol ${r.protocol.name} v${r.protocol.version} (report ${r.id})`,
    `compared with ${r.baselineVersion === null ? 'no production version' : `production v${r.baselineVersion}`} on dataset ${r.report.datasetVersion}; protocol sha256 ${r.protocol.sha256.slice(0, 16)}…`,
    '',
    renderTable(
      ['criterion', 'split', 'result', 'figures'],
      r.report.criteria.map((c) => [c.criterion, c.split ?? '—', c.passed ? 'pass' : 'FAIL', c.summary]),
    ),
  ];
  if (r.passed)
    L.push('', `staging → v${r.version}; its fitted policy ${r.report.policy ? `${r.report.policy.id} (v${r.report.policy.version})` : ''} is in force for it`);
  else L.push('', 'rejected because:', ...r.failures.map((f) => `  - ${f}`));
  return L.join('\n');
}

function judgementText(j: StepJudgement | null): string {
  if (!j) return 'not judged yet';
  const L = [
    `decision: ${j.decision}`,
    renderTable(
      ['guard', 'status', 'figures'],
      j.guards.map((g) => [g.guard, g.status, g.message]),
    ),
  ];
  if (j.waitingFor.length) L.push('waiting for:', ...j.waitingFor.map((w) => `  - ${w}`));
  if (j.reasons.length) L.push('degraded:', ...j.reasons.map((w) => `  - ${w}`));
  return L.join('\n');
}

function rolloutText(r: Rollout): string {
  const steps = r.steps.map((w, i) => (i === r.step && r.status === 'active' ? `[${pct(w)}]` : pct(w))).join(' → ');
  return [
    `rollout ${r.id} of ${r.model}: v${r.candidateVersion} against production v${r.baselineVersion} — ${r.status}${r.status === 'active' ? `, canary at ${pct(r.weight)} since ${when(r.stepStartedAt)}` : ''}`,
    `steps: ${steps} (the last is promotion); started ${when(r.createdAt)} by ${r.startedBy}${r.endedAt ? `; ended ${when(r.endedAt)}: ${r.endedReason}` : ''}`,
  ].join('\n');
}

const EVALUATE_HELP = `
What it does (docs/rollout.md):
  1. The candidate and the current production version read every image of the protocol's splits of the locked
     dataset version (evaluation.dataset; else the production version's dataset version; --dataset overrides).
  2. accuracy and macro-F1: paired bootstrap interval of candidate − production; non-inferior when its lower
     end is >= -margin. false_clear: a policy fitted for the candidate (Learn then Test) on fitSplit, measured on
     testSplit. ece on its split. latency_p95: single-image requests through a serving runtime of its own.
  3. The report is stored with the version (its model card gains a "Change protocol" section) and audited.
     Pass: the fitted policy is stored for the version and staging points at it. Fail: exit 1, with the reasons.

Examples:
  secondread rollout evaluate cxr-oct:4 --protocol examples/change-protocol.yaml
  secondread rollout evaluate cxr-oct@staging --dataset ds-3f9a --out reports/v4 --json
`;

export function registerRollout(program: Command): void {
  const rollout = program.command('rollout').description('change protocol and staged canary: evaluate a candidate, start, step, status, roll back');

  rollout
    .command('evaluate <candidate>')
    .description('judge a candidate (name:version, name@alias, or name = latest) against the change protocol; pass → staging')
    .option('--protocol <file>', 'the change protocol (YAML)', DEFAULT_PROTOCOL)
    .option('--dataset <id>', 'evaluate on this dataset version instead of the locked one (recorded in the report)')
    .option('--out <dir>', 'also write report.json and report.md there')
    .option('--by <user>', 'who evaluates (default: the OS user)')
    .option('--json', 'print the stored report as JSON')
    .addHelpText('after', EVALUATE_HELP)
    .action(async (candidate: string, opts: { protocol: string; dataset?: string; out?: string; by?: string; json?: boolean }) => {
      const protocol = await readProtocolFile(opts.protocol);
      const ref = parseModelRef(candidate);
      await withContext(async (ctx) => {
        const { rollout: svc, registry } = await service(ctx);
        const mv = await registry.resolve(ref.name, { version: ref.version, alias: ref.alias });
        const progress = createProgressRenderer();
        let r: StoredReport;
        try {
          r = await svc.evaluate(
            { model: mv.name, version: mv.version, datasetVersion: opts.dataset },
            protocol,
            { by: actor(opts.by) },
            { onProgress: progress.onProgress },
          );
        } finally {
          progress.stop();
        }
        if (opts.out) {
          const dir = resolve(opts.out);
          await mkdir(dir, { recursive: true });
          await writeFile(join(dir, 'report.json'), `${JSON.stringify(r, null, 2)}\n`);
          await writeFile(join(dir, 'report.md'), `\`\`\`\n${reportText(r)}\n\`\`\`\n`);
        }
        if (opts.json) printJson(r);
        else print(reportText(r));
        if (!r.passed) process.exitCode = 1;
      });
    });

  rollout
    .command('start <model>')
    .description('start the canary of the staging version (or --version) against production, at the first step’s share')
    .option('--version <n>', 'the candidate version (default: staging)')
    .option('--by <user>', 'who starts it (default: the OS user)')
    .option('--json', 'print as JSON')
    .action(async (model: string, opts: { version?: string; by?: string; json?: boolean }) => {
      await withContext(async (ctx) => {
        const r = await (
          await service(ctx)
        ).rollout.start({ model, version: opts.version === undefined ? undefined : parseInteger('--version', opts.version, 1) }, { by: actor(opts.by) });
        if (opts.json) return printJson(r);
        print(rolloutText(r));
      });
    });

  rollout
    .command('step <model>')
    .description('judge the active step from the live guards now and act: advance, promote, roll back, or wait')
    .option('--by <user>', 'who asks (default: the OS user)')
    .option('--json', 'print as JSON')
    .action(async (model: string, opts: { by?: string; json?: boolean }) => {
      await withContext(async (ctx) => {
        const s = await (await service(ctx)).rollout.step(model, { by: actor(opts.by) });
        if (opts.json) return printJson(s);
        print(`${s.action}\n${rolloutText(s.rollout)}\n${judgementText(s.judgement)}`);
      });
    });

  rollout
    .command('status <model>')
    .description('the active rollout (else the newest) with its step judged from the live guards now (nothing is changed)')
    .option('--json', 'print as JSON')
    .action(async (model: string, opts: { json?: boolean }) => {
      await withContext(async (ctx) => {
        const s = await (await service(ctx)).rollout.status(model);
        if (opts.json) return printJson(s);
        print(`${rolloutText(s.rollout)}\n${judgementText(s.judgement)}`);
      });
    });

  rollout
    .command('rollback <model>')
    .description('roll the active canary back: canary returns to the production version (audited)')
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .option('--by <user>', 'who rolls back (default: the OS user)')
    .option('--json', 'print as JSON')
    .action(async (model: string, opts: { reason: string; by?: string; json?: boolean }) => {
      await withContext(async (ctx) => {
        const r = await (await service(ctx)).rollout.rollback(model, { by: actor(opts.by) }, opts.reason);
        if (opts.json) return printJson(r);
        print(rolloutText(r));
      });
    });

  rollout
    .command('reports <model>')
    .description('change-protocol verdicts of a model’s versions, newest first')
    .option('--version <n>', 'only this version')
    .option('--json', 'print as JSON')
    .action(async (model: string, opts: { version?: string; json?: boolean }) => {
      await withContext(async (ctx) => {
        const rs = await (await service(ctx)).rollout.reports(model, opts.version === undefined ? undefined : parseInteger('--version', opts.version, 1));
        if (opts.json) return printJson(rs);
        print(
          renderTable(
            ['report', 'version', 'vs production', 'protocol', 'verdict', 'failed criteria', 'when', 'by'],
            rs.map((r) => [
              r.id,
              r.version,
              r.baselineVersion === null ? '—' : `v${r.baselineVersion}`,
              `${r.protocol.name} v${r.protocol.version}`,
              r.passed ? 'passed' : 'rejected',
              r.report.criteria
                .filter((c) => !c.passed)
                .map((c) => `${c.criterion}${c.split ? `/${c.split}` : ''}`)
                .join(', ') || '—',
              when(r.createdAt),
              r.createdBy,
            ]),
          ),
        );
      });
    });
}
