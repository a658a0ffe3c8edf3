// `secondread models …`: the model registry — register a run's model, import an ONNX classifier,
// list / show versions, promote and roll back aliases, show the alias history, predict one image, quantize.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Command } from 'commander';

import { ValidationError } from '../../core/errors.js';
import { readImageHeader } from '../../data/images/decode.js';
import { renderTable } from '../../data/validate/table.js';
import { profileOnRegistration } from '../../monitoring/drift/auto-profile.js';
import { toServedDetections } from '../../serving/detections.js';
import { ALIASES, type LoadedModel, ModelRegistry, type ModelVersion, Tracker } from '../../tracking/index.js';
import { actor } from '../actor.js';
import { type CliContext, withContext } from '../context.js';
import { parseInteger } from '../parse.js';
import { formatQuantizeResult, parseSplit, runQuantize } from './models-quantize.js';
import { fmtNumber, print, printJson, when } from './runs.js';

async function registry(ctx: CliContext): Promise<ModelRegistry> {
  const db = await ctx.db();
  const reg = new ModelRegistry(db, ctx.objects(), new Tracker(db, ctx.objects()));
  // A version registered here with a dataset version gets its drift reference profile (docs/drift.md).
  if (ctx.config.drift.profileOnRegister)
    profileOnRegistration(reg, { db, objects: ctx.objects(), logger: ctx.logger, cacheDir: join(ctx.config.home, 'cache', 'models') });
  return reg;
}

function versionSummary(mv: ModelVersion): string {
  return `${mv.name} version ${mv.version} (${mv.source === 'run' ? `run ${mv.runId}` : 'imported'}; ${mv.metadata.detection ? `detector (${mv.metadata.detection.layout}), ` : ''}${mv.metadata.classes.length} classes, input ${mv.metadata.preprocessing.channels}×${mv.metadata.preprocessing.size}×${mv.metadata.preprocessing.size}; ${mv.onnxKey})`;
}

async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ValidationError(`cannot read ${what} '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ValidationError(`${what} '${path}' is not valid JSON: ${(err as Error).message}`);
  }
}

export function registerModels(program: Command): void {
  const models = program.command('models').description(`model registry: register, import, list, promote (${ALIASES.join(', ')}), roll back, predict`);

  models
    .command('register <run>')
    .description("register a finished run's exported model as a new version (with a model card)")
    .requiredOption('--name <name>', 'model name (lower-case letters, digits, - _ .)')
    .option('--artifact <name>', 'the run artifact holding the ONNX model', 'model.onnx')
    .option('--notes <text>', 'free-text notes stored with the version')
    .option('--by <user>', 'who registers (default: the OS user)')
    .option('--json', 'print as JSON')
    .action(async (run: string, opts: { name: string; artifact: string; notes?: string; by?: string; json?: boolean }) => {
      await withContext(async (ctx) => {
        const mv = await (await registry(ctx)).register({ runId: run, name: opts.name, onnxArtifact: opts.artifact, by: actor(opts.by), notes: opts.notes });
        if (opts.json) return printJson(mv);
        print(`registered ${versionSummary(mv)}\nmodel card: ${mv.cardMarkdownKey}`);
      });
    });

  models
    .command('import <file>')
    .description(
      'import an ONNX classifier or detector exported elsewhere (e.g. PyTorch), validated by loading, shape checks and a smoke inference (docs/detection.md: the detector meta file)',
    )
    .requiredOption('--name <name>', 'model name (lower-case letters, digits, - _ .)')
    .requiredOption(
      '--meta <meta.json>',
      'class names, input shape [1|batch, C, H, W], preprocessing {size, channels, mean, std, scale}, optional temperature; a detector adds detection {layout, outputs, scoreThreshold, iouThreshold, maxDetections}',
    )
    .option('--notes <text>', 'free-text notes stored with the version')
    .option('--by <user>', 'who imports (default: the OS user)')
    .option('--json', 'print as JSON')
    .action(async (file: string, opts: { name: string; meta: string; notes?: string; by?: string; json?: boolean }) => {
      const meta = await readJsonFile(opts.meta, 'meta file');
      await withContext(async (ctx) => {
        const mv = await (await registry(ctx)).importOnnx({ name: opts.name, file, meta, by: actor(opts.by), notes: opts.notes });
        if (opts.json) return printJson(mv);
        print(`imported ${versionSummary(mv)}\nmodel card: ${mv.cardMarkdownKey}`);
      });
    });

  models
    .command('ls')
    .description('registered models with their latest version and aliases')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      await withContext(async (ctx) => {
        const list = await (await registry(ctx)).listModels();
        if (opts.json) return printJson(list);
        if (list.length === 0) return print('no models yet: register one with `secondread models register <run> --name <name>`');
        print(
          renderTable(
            ['model', 'latest', ...ALIASES, 'created (UTC)'],
            list.map((m) => [m.name, m.latestVersion, ...ALIASES.map((a) => (m.aliases[a] !== undefined ? `v${m.aliases[a]}` : '')), when(m.createdAt)]),
          ),
        );
      });
    });

  models
    .command('show <name>')
    .description('a model: its versions, or one version with its model card')
    .option('--version <n>', 'show this version with its model card')
    .option('--json', 'print as JSON')
    .action(async (name: string, opts: { version?: string; json?: boolean }) => {
      await withContext(async (ctx) => {
        const reg = await registry(ctx);
        const aliases = await reg.aliases(name);
        if (opts.version !== undefined) {
          const mv = await reg.resolve(name, { version: parseInteger('version', opts.version) });
          if (opts.json)
            return printJson({
              ...mv,
              aliases: Object.entries(aliases)
                .filter(([, v]) => v === mv.version)
                .map(([a]) => a),
              card: await reg.modelCard(name, mv.version),
            });
          print((await ctx.objects().getBytes(mv.cardMarkdownKey)).toString('utf8'));
          return;
        }
        const versions = await reg.listVersions(name);
        if (opts.json) return printJson({ name, aliases, versions });
        const tagged = (v: number) =>
          Object.entries(aliases)
            .filter(([, x]) => x === v)
            .map(([a]) => a)
            .join(', ');
        print(
          renderTable(
            ['version', 'aliases', 'source', 'run', 'dataset', 'classes', 'input', 'T', 'created (UTC)', 'by'],
            versions.map((v) => [
              v.version,
              tagged(v.version),
              v.source,
              v.runId ?? '',
              v.datasetVersion ?? '',
              v.metadata.classes.length,
              `${v.metadata.preprocessing.channels}×${v.metadata.preprocessing.size}²`,
              fmtNumber(v.metadata.temperature),
              when(v.createdAt),
              v.createdBy,
            ]),
          ),
        );
      });
    });

  models
    .command('history <name>')
    .description('every alias change: who, when, why (append-only)')
    .option('--alias <alias>', `only this alias (${ALIASES.join(', ')})`)
    .option('--json', 'print as JSON')
    .action(async (name: string, opts: { alias?: string; json?: boolean }) => {
      await withContext(async (ctx) => {
        const events = await (await registry(ctx)).aliasHistory(name, opts.alias);
        if (opts.json) return printJson(events);
        if (events.length === 0) return print(`no alias changes for ${name} yet`);
        print(
          renderTable(
            ['#', 'when (UTC)', 'alias', 'action', 'from', 'to', 'by', 'reason'],
            events.map((e) => [
              e.seq,
              when(e.at),
              e.alias,
              e.action,
              e.previousVersion === null ? '—' : `v${e.previousVersion}`,
              `v${e.version}`,
              e.by,
              e.reason,
            ]),
          ),
        );
      });
    });

  models
    .command('promote <name> <version>')
    .description('point an alias at a version (recorded with who, when, why)')
    .requiredOption('--to <alias>', `alias to move (${ALIASES.join(', ')})`)
    .requiredOption('--reason <text>', 'why (kept in the alias history)')
    .option('--by <user>', 'who promotes (default: the OS user)')
    .action(async (name: string, version: string, opts: { to: string; reason: string; by?: string }) => {
      const v = parseInteger('version', version);
      await withContext(async (ctx) => {
        await (await registry(ctx)).setAlias(name, opts.to, v, { by: actor(opts.by), reason: opts.reason });
        print(`${name}@${opts.to} → version ${v}`);
      });
    });

  models
    .command('rollback <name>')
    .description('move an alias back to the version it pointed at before its latest promotion')
    .requiredOption('--alias <alias>', `alias to roll back (${ALIASES.join(', ')})`)
    .option('--reason <text>', 'why (kept in the alias history)', 'rollback')
    .option('--by <user>', 'who rolls back (default: the OS user)')
    .action(async (name: string, opts: { alias: string; reason: string; by?: string }) => {
      await withContext(async (ctx) => {
        const r = await (await registry(ctx)).rollback(name, opts.alias, { by: actor(opts.by), reason: opts.reason });
        print(`${name}@${opts.alias} rolled back: version ${r.from} → version ${r.to}`);
      });
    });

  models
    .command('quantize <name> <version>')
    .description('INT8 dynamic quantization of a version: registers it as a new version and reports accuracy (float vs int8) and speed-up')
    .option('--split <split>', "split of the version's dataset version to measure accuracy on (train, val, test)", 'test')
    .option('--threads <n>', 'ONNX Runtime intra-op threads for the timing', '1')
    .option('--runs <n>', 'timed runs per model and batch size', '20')
    .option('--form <form>', "graph form: 'integer' (MatMulInteger) or 'qdq' (DequantizeLinear pairs)", 'integer')
    .option('--weight-type <type>', 'int8 (symmetric) or uint8 (asymmetric)', 'int8')
    .option('--per-tensor', 'one weight scale per matrix instead of one per output column')
    .option('--full-range', 'full 8-bit int8 weights (default 7-bit: u8×s8 products can saturate on x86 CPUs without VNNI)')
    .option('--notes <text>', 'free-text notes added to the version')
    .option('--by <user>', 'who registers (default: the OS user)')
    .option('--json', 'print as JSON')
    .action(
      async (
        name: string,
        version: string,
        opts: {
          split: string;
          threads: string;
          runs: string;
          form: string;
          weightType: string;
          perTensor?: boolean;
          fullRange?: boolean;
          notes?: string;
          by?: string;
          json?: boolean;
        },
      ) => {
        const v = parseInteger('version', version);
        const split = parseSplit(opts.split);
        const threads = parseInteger('--threads', opts.threads, 1, 256);
        const runs = parseInteger('--runs', opts.runs, 1, 10_000);
        if (opts.form !== 'integer' && opts.form !== 'qdq') throw new ValidationError(`--form must be 'integer' or 'qdq', got '${opts.form}'`);
        if (opts.weightType !== 'int8' && opts.weightType !== 'uint8')
          throw new ValidationError(`--weight-type must be 'int8' or 'uint8', got '${opts.weightType}'`);
        const quantize = {
          form: opts.form,
          weightType: opts.weightType,
          perChannel: !opts.perTensor,
          reduceRange: opts.weightType === 'int8' && !opts.fullRange,
        } as const;
        await withContext(async (ctx) => {
          const r = await runQuantize(ctx, await registry(ctx), name, v, { split, threads, runs, by: actor(opts.by), notes: opts.notes, quantize });
          if (opts.json) return printJson(r);
          print(formatQuantizeResult(r));
        });
      },
    );

  models
    .command('predict <name> <image>')
    .description("classify one image (PNG, JPEG or DICOM) with a registered model; a detector prints its boxes in the image's pixels")
    .option('--version <n>', 'this version (default: latest)')
    .option('--alias <alias>', 'the version this alias points at')
    .option('--json', 'print as JSON')
    .action(async (name: string, image: string, opts: { version?: string; alias?: string; json?: boolean }) => {
      let bytes: Buffer;
      try {
        bytes = await readFile(image);
      } catch (err) {
        throw new ValidationError(`cannot read image '${image}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      await withContext(async (ctx) => {
        const ref = { version: opts.version !== undefined ? parseInteger('version', opts.version) : undefined, alias: opts.alias };
        const model = await (await registry(ctx)).loadForInference(name, ref, { cacheDir: join(ctx.config.home, 'model-cache') });
        try {
          if (model.metadata.detection) return await printDetections(model, bytes, opts.json === true);
          const p = await model.predict(bytes);
          if (opts.json) return printJson({ model: model.name, version: model.version, ...p });
          print(`${model.name} v${model.version}: ${p.top.class} (${(100 * p.top.probability).toFixed(1)}%)`);
          print(
            renderTable(
              ['class', 'probability'],
              p.classes.map((c) => [c.class, c.probability.toFixed(4)]),
            ),
          );
        } finally {
          await model.close();
        }
      });
    });
}

/** A detector's boxes for one image, in its original pixels (as the predict route answers them). */
async function printDetections(model: LoadedModel, bytes: Uint8Array, json: boolean): Promise<void> {
  const [input, header] = await Promise.all([model.preprocess(bytes), readImageHeader(bytes)]);
  const image = { width: header.width, height: header.height };
  const found = (await model.forward(input, 1)).detections?.[0] ?? [];
  const detections = toServedDetections(found, model.metadata.classes, image, model.metadata.preprocessing.size);
  if (json) return printJson({ model: model.name, version: model.version, task: 'detect', image, detections });
  print(`${model.name} v${model.version}: ${detections.length} detection${detections.length === 1 ? '' : 's'} on ${image.width}×${image.height}`);
  if (detections.length > 0)
    print(
      renderTable(
        ['class', 'score', 'x0', 'y0', 'x1', 'y1'],
        detections.map((d) => [d.class, d.score.toFixed(3), ...d.box.map((v) => v.toFixed(1))]),
      ),
    );
}
