// `secondread drift …`: the drift monitor for the ML / PACS engineer — compute a model version's reference profile
// from its validation split, check a production window against it, and show the latest checks (docs/drift.md).
import type { Command } from 'commander';

import { ValidationError } from '../../core/errors.js';
import { renderTable } from '../../data/validate/table.js';
import { DriftAlarms } from '../../monitoring/drift/alarms.js';
import { loadProfileComputation, type ProfileComputation } from '../../monitoring/drift/auto-profile.js';
import { DEFAULT_ALPHA, runDriftCheck } from '../../monitoring/drift/check.js';
import { computeProfile, loadProfile, NoDriftProfileError, profileSummary } from '../../monitoring/drift/profile.js';
import { listChecks } from '../../monitoring/drift/store.js';
import { type DriftCheck, MODALITIES, type WindowModality } from '../../monitoring/drift/types.js';
import { parseWindow } from '../../monitoring/drift/window.js';
import { ModelRegistry, Tracker } from '../../tracking/index.js';
import { actor } from '../actor.js';
import { type CliContext, withContext } from '../context.js';
import { parseInteger, parseNumber } from '../parse.js';
import { fmtNumber, print, printJson, when } from './runs.js';

async function registry(ctx: CliContext): Promise<ModelRegistry> {
  const db = await ctx.db();
  return new ModelRegistry(db, ctx.objects(), new Tracker(db, ctx.objects()));
}

function parseModality(v: string): WindowModality {
  if (v === 'all' || (MODALITIES as readonly string[]).includes(v)) return v as WindowModality;
  throw new ValidationError(`--modality must be cxr, oct or all, got '${v.slice(0, 20)}'`);
}

const p = (v: number | null): string => (v === null ? '—' : v < 1e-4 ? v.toExponential(1) : v.toFixed(4));

export function formatCheck(c: DriftCheck): string {
  const head = `${c.model} v${c.version} (${c.modality}) — ${c.window.observations} reads ${when(c.window.start)} … ${when(c.window.end)}, α = ${c.alpha}, Holm-corrected`;
  const rows = c.tests.map((t) => [t.test, fmtNumber(t.statistic), p(t.pValue), p(t.adjustedPValue), t.detected ? 'DRIFT' : 'ok']);
  const skipped = c.skipped.map((s) => `  skipped ${s.test}: ${s.reason}`);
  const estimate = `expected accuracy (CBPE, label-free) ${p(c.estimatedAccuracy)}; agreement with reader A ${c.realizedAgreement === null ? '— (no A reads yet)' : `${p(c.realizedAgreement)} over ${c.agreementReads} reads`}`;
  return [
    head,
    renderTable(['test', 'statistic', 'p', 'p (Holm)', ''], rows),
    ...skipped,
    estimate,
    c.detected ? `DRIFT DETECTED (check ${c.id})` : 'no drift detected',
  ].join('\n');
}

/** The profile line of `drift status <model>`: its summary, or why there is none (the computation at registration). */
export function profileLine(
  model: string,
  version: number,
  profile: (ReturnType<typeof profileSummary> & { version: number }) | null,
  c: ProfileComputation | null,
): string {
  if (profile)
    return `${model} v${version} profile: ${profile.images} images, expected accuracy ${p(profile.expectedAccuracy)}, ${profile.embeddings} embeddings${c?.state === 'stored' ? ` (computed at registration, ${when(c.at)})` : ''}`;
  const byHand = `run \`secondread drift profile ${model} --version ${version}\``;
  if (c?.state === 'computing')
    return `${model} v${version}: reference profile being computed since ${when(c.at)} (on ${c.split} of ${c.datasetVersion}); if that process stopped, ${byHand}`;
  if (c?.state === 'failed')
    return `${model} v${version}: the reference profile could not be computed at registration (${when(c.at)}): ${c.error?.message ?? 'unknown error'}; fix it and ${byHand}`;
  return `${model} v${version}: no reference profile (${byHand})`;
}

export function registerDrift(program: Command): void {
  const drift = program.command('drift').description('drift monitoring: reference profiles, window checks, status (docs/drift.md)');

  drift
    .command('profile <model>')
    .description("compute and store a model version's reference profile from its validation split")
    .option('--version <n>', 'model version (default: production, else the latest)')
    .option('--dataset-version <id>', 'dataset version to profile on (default: the one the version was trained on)')
    .option('--split <split>', 'val or test', 'val')
    .option('--json', 'print as JSON')
    .action(async (model: string, opts: { version?: string; datasetVersion?: string; split: string; json?: boolean }) => {
      if (opts.split !== 'val' && opts.split !== 'test') throw new ValidationError(`--split must be val or test, got '${opts.split.slice(0, 20)}'`);
      await withContext(async (ctx) => {
        const reg = await registry(ctx);
        const version = opts.version !== undefined ? parseInteger('--version', opts.version) : (await reg.aliases(model)).production;
        const mv = await reg.resolve(model, version !== undefined ? { version } : {});
        const profile = await computeProfile({ db: await ctx.db(), objects: ctx.objects(), registry: reg, logger: ctx.logger }, mv, {
          datasetVersion: opts.datasetVersion,
          split: opts.split as 'val' | 'test',
        });
        const s = profileSummary(profile);
        if (opts.json) return printJson({ model: mv.name, version: mv.version, datasetVersion: profile.datasetVersion, split: profile.split, ...s });
        print(
          `profiled ${mv.name} v${mv.version} on ${profile.split} of ${profile.datasetVersion}: ${s.images} images, accuracy ${p(s.accuracy)}, expected accuracy ${p(s.expectedAccuracy)}, ` +
            `modalities ${JSON.stringify(s.modalityMix)}, ${s.embeddings > 0 ? `${s.embeddings} embeddings of ${profile.embeddingDim}` : 'no embeddings (the model exports none: the MMD test will be skipped)'}`,
        );
      });
    });

  drift
    .command('check <model>')
    .description('test a production window of the model against its reference profile and record the result')
    .option('--version <n>', 'model version (default: production, else the latest)')
    .option('--window <w>', 'the last N reads (e.g. 200) or a duration (30m, 24h, 7d)', '200')
    .option('--modality <m>', 'cxr, oct or all', 'all')
    .option('--alpha <a>', 'family-wise significance level (Holm)', String(DEFAULT_ALPHA))
    .option('--fail-on-drift', 'exit 1 when drift is detected (for cron jobs and CI)')
    .option('--by <user>', 'who runs the check (default: the OS user)')
    .option('--json', 'print as JSON')
    .action(
      async (
        model: string,
        opts: { version?: string; window: string; modality: string; alpha: string; failOnDrift?: boolean; by?: string; json?: boolean },
      ) => {
        await withContext(async (ctx) => {
          const check = await runDriftCheck(
            { db: await ctx.db(), registry: await registry(ctx), alarms: new DriftAlarms(ctx.logger) },
            {
              model,
              version: opts.version !== undefined ? parseInteger('--version', opts.version) : undefined,
              modality: parseModality(opts.modality),
              window: parseWindow(opts.window),
              alpha: parseNumber('--alpha', opts.alpha, 0.0001, 0.49),
              by: actor(opts.by),
            },
          );
          if (opts.json) printJson(check);
          else print(formatCheck(check));
          if (check.detected && opts.failOnDrift) process.exitCode = 1;
        });
      },
    );

  drift
    .command('status [model]')
    .description("the latest drift checks (and the model's profile when a model is named)")
    .option('--limit <n>', 'checks to show', '10')
    .option('--json', 'print as JSON')
    .action(async (model: string | undefined, opts: { limit: string; json?: boolean }) => {
      await withContext(async (ctx) => {
        const checks = await listChecks(await ctx.db(), { model, limit: parseInteger('--limit', opts.limit, 1, 1000) });
        let profile: (ReturnType<typeof profileSummary> & { version: number }) | null = null;
        let computation: ProfileComputation | null = null;
        let version: number | undefined;
        if (model !== undefined) {
          const reg = await registry(ctx);
          version = (await reg.aliases(model)).production ?? (await reg.resolve(model)).version;
          try {
            profile = { version, ...profileSummary(await loadProfile(reg, model, version)) };
          } catch (err) {
            if (!(err instanceof NoDriftProfileError)) throw err;
          }
          computation = await loadProfileComputation(reg, model, version);
        }
        if (opts.json) return printJson({ profile, profileComputation: computation, checks });
        if (model !== undefined && version !== undefined) print(profileLine(model, version, profile, computation));
        if (checks.length === 0) return print('no drift checks yet');
        print(
          renderTable(
            ['when', 'model', 'modality', 'reads', 'drift', 'tests fired', 'CBPE acc.', 'A agreement'],
            checks.map((c) => [
              when(c.createdAt),
              `${c.model} v${c.version}`,
              c.modality,
              String(c.window.observations),
              c.detected ? 'YES' : 'no',
              c.tests
                .filter((t) => t.detected)
                .map((t) => t.test)
                .join(', ') || '—',
              p(c.estimatedAccuracy),
              p(c.realizedAgreement),
            ]),
          ),
        );
      });
    });
}
