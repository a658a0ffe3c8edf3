// The layer map of docs/design.md as a test, not a picture: every import of every .ts file under src/ (static
// `import`, `export … from`, dynamic `import('…')` and `import('…')` types, type-only imports, test files and
// testing helpers included) must point down the map, engine/ and models/ keep to their stated packages, and the
// browser code (web/src) may reach into src/ only through the modules it shares. A failure prints each offending edge as
// `importer → imported (layer → layer): why`. The checker is pure over an edge list, so its own tests below
// feed it synthetic edges and watch it fail.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Top to bottom. A layer imports itself and the rows below it: never a row above, never a neighbour in its own
 * row (neighbours are independent entry points). rollout/ sits above workflow/: it gates model changes with the
 * workflow's policy fit, figures and audit trail, and moves serving's aliases and canary weight.
 * cli/ and web-e2e/ (the browser driver of the UI tests) are where people and browsers come in; demo/ (the
 * `npm start` bootstrap) and simulate/ (replays a split through the HTTP API) sit beside each other under them
 * and above api/. jobs/ keeps its queue in the metadata DB, so it sits above storage/. loop/ (feedback datasets,
 * retraining triggers and jobs) ties the workflow's labels, drift, training and rollout together, so it sits above
 * all of them, beside gateway/.
 */
export const LAYER_ROWS: readonly (readonly string[])[] = [
  ['cli', 'web-e2e'],
  ['demo', 'simulate'],
  ['api'],
  ['gateway', 'loop'],
  ['rollout'],
  ['workflow'],
  ['serving'],
  ['monitoring'],
  ['training'],
  ['tracking'],
  ['data'],
  ['models'],
  ['engine'],
  ['jobs'],
  ['storage'],
  ['core'],
];

/**
 * Layers that may import only the listed ones, whatever their row. engine/ is a library that could be published
 * on its own (onnxruntime-node and the ONNX protobuf only, not even core/); models/ are written with the engine
 * alone; types/ holds ambient declarations for untyped packages and imports nothing.
 */
export const ONLY: Readonly<Record<string, readonly string[]>> = {
  engine: ['engine'],
  models: ['models', 'engine'],
  types: [],
};

/**
 * npm packages the code (not the tests) of these layers may import; node: built-ins always. Other layers use any
 * dependency package.json declares.
 */
export const PACKAGES: Readonly<Record<string, readonly string[]>> = { engine: ['onnxruntime-node', 'onnx-proto'], models: [] };

/** A layer whose files other layers reach only through one entry module (its public API). */
export const ENTRY: Readonly<Record<string, string>> = { engine: 'engine/index.ts' };

/**
 * The only src/ modules the browser code (web/src) may import: the workflow's type-only views (whose one import,
 * core/probabilities.ts, is a type import too) and the import-free class list, so no server code reaches the bundle.
 */
export const WEB_SHARED: readonly string[] = ['workflow/views.ts', 'data/classes.ts'];

/** Files no module outside `within` may import, and why. */
export const PRIVATE: readonly { pattern: RegExp; within: string; why: string }[] = [
  {
    pattern: /^storage\/migrations\/\d{4}_/,
    within: 'storage/migrations/',
    why: 'a migration is frozen history: read the schema from storage/schema.ts, keep shared constants with their owner',
  },
];

/** An import: both ends relative to src/ with '/' separators; an end outside src/ starts with '../', a package is `npm:<specifier>`. */
export interface Edge {
  from: string;
  to: string;
}

export interface Violation extends Edge {
  why: string;
}

const isTest = (file: string): boolean => /\.test\.tsx?$/.test(file);
const layerOf = (file: string): string => file.split('/')[0]!;
const rowOf = (layer: string): number => LAYER_ROWS.findIndex((row) => row.includes(layer));

function checkPackage(file: string, specifier: string): string | null {
  const allowed = PACKAGES[layerOf(file)];
  if (!allowed || isTest(file) || specifier.startsWith('node:')) return null;
  const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
  if (allowed.includes(name)) return null;
  return `${layerOf(file)}/ may use ${allowed.length ? `only the packages ${allowed.join(' and ')}` : 'no package'} (and node: built-ins)`;
}

/** Why the edge breaks the map, or null when it may stand. */
export function checkEdge({ from, to }: Edge): string | null {
  if (to.startsWith('npm:')) return from.startsWith('../') || !from.includes('/') ? null : checkPackage(from, to.slice('npm:'.length));
  if (from.startsWith('../web/')) return to.startsWith('../') || WEB_SHARED.includes(to) ? null : `web/ imports from src/ only ${WEB_SHARED.join(' and ')}`;
  if (from.startsWith('../')) return null; // outside src/, only web/ is checked
  if (!from.includes('/')) return from.endsWith('.test.ts') ? null : `${from} is not in a layer folder`;
  if (to.startsWith('../')) return isTest(from) && to.startsWith('../test/') ? null : 'only a test file may import from outside src/ (the test/ helpers)';
  const a = layerOf(from);
  const b = layerOf(to);
  const only = ONLY[a];
  if (rowOf(a) < 0 && !only) return `${a}/ is not on the layer map`;
  if (rowOf(b) < 0 || !to.includes('/')) return `${b}/ is not on the layer map`;
  const privateFile = PRIVATE.find((p) => p.pattern.test(to) && !from.startsWith(p.within));
  if (privateFile) return privateFile.why;
  if (a === b) return null;
  if (only && !only.includes(b)) return `${a}/ may import ${only.length ? `only ${only.map((l) => `${l}/`).join(' and ')}` : 'nothing in src/'}`;
  const entry = ENTRY[b];
  if (entry && to !== entry) return `${b}/ is reached only through ${entry}`;
  if (rowOf(b) < rowOf(a)) return 'goes up the layer map';
  if (rowOf(b) === rowOf(a)) return `${a}/ and ${b}/ stand beside each other and import neither`;
  return null;
}

export function checkEdges(edges: readonly Edge[]): Violation[] {
  return edges.flatMap((e) => {
    const why = checkEdge(e);
    return why === null ? [] : [{ ...e, why }];
  });
}

export function formatViolation(v: Violation): string {
  const target = v.to.startsWith('npm:') ? 'package' : v.to.startsWith('../') ? 'outside src' : layerOf(v.to);
  return `${v.from} → ${v.to} (${layerOf(v.from)} → ${target}): ${v.why}`;
}

/** The module specifiers a source text imports: static, re-exports, dynamic and type-position `import('…')`. */
export function importsOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** A specifier imported by `file` (src-relative) → the src-relative .ts file it names, or `npm:<specifier>`. */
export function resolveImport(file: string, specifier: string, exists: (path: string) => boolean): string {
  if (!specifier.startsWith('.')) return `npm:${specifier}`;
  const joined = posix.normalize(posix.join(posix.dirname(file), specifier));
  const base = joined.startsWith('../src/') ? joined.slice('../src/'.length) : joined; // web/ → src/
  const stem = base.replace(/\.(js|ts|tsx|jsx|mjs)$/, '');
  const candidates = [`${stem}.ts`, `${stem}.tsx`, `${stem}.d.ts`, `${base}/index.ts`];
  return candidates.find(exists) ?? base;
}

const SRC = dirname(fileURLToPath(import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(path);
    return /\.tsx?$/.test(e.name) ? [relative(SRC, path).split(sep).join('/')] : [];
  });
}

/** Every import of src/ and of the browser code in web/src, as src-relative edges. */
function collectEdges(): Edge[] {
  const files = [...sourceFiles(SRC), ...sourceFiles(join(SRC, '..', 'web', 'src'))];
  const known = new Set(files);
  const exists = (p: string): boolean => known.has(p);
  return files.flatMap((from) => importsOf(readFileSync(join(SRC, from), 'utf8')).map((spec) => ({ from, to: resolveImport(from, spec, exists) })));
}

describe('the layer map', () => {
  const edges = collectEdges();

  it('holds for every import under src/', () => {
    const lines = checkEdges(edges).map(formatViolation);
    expect(lines, `imports against the layer map (docs/design.md):\n${lines.join('\n')}\n`).toEqual([]);
  });

  it('sees the imports that are there (a checker that reads nothing would pass the test above)', () => {
    expect(edges.length).toBeGreaterThan(1000);
    expect(edges).toContainEqual({ from: 'models/vit.ts', to: 'engine/index.ts' });
    expect(edges).toContainEqual({ from: 'simulate/report.test.ts', to: 'simulate/bar-chart.ts' }); // await import('./bar-chart.js')
    expect(edges).toContainEqual({ from: 'api/types.ts', to: 'workflow/users.ts' }); // import('…').AuthenticatedUser
    expect(edges).toContainEqual({ from: '../web/src/api/types.ts', to: 'workflow/views.ts' });
    expect(edges).toContainEqual({ from: 'engine/onnx/proto.ts', to: 'npm:onnx-proto' });
  });
});

describe('the checker', () => {
  const why = (from: string, to: string): string | null => checkEdge({ from, to });

  it('lets imports point down and stay within a layer', () => {
    expect(why('api/app.ts', 'workflow/service.ts')).toBeNull();
    expect(why('workflow/audit.ts', 'core/ids.ts')).toBeNull();
    expect(why('jobs/store.ts', 'storage/db.ts')).toBeNull();
    expect(why('cli/main.ts', 'demo/index.ts')).toBeNull();
    expect(why('serving/runtime.ts', 'serving/types.ts')).toBeNull();
    expect(why('models/vit.ts', 'engine/index.ts')).toBeNull();
    expect(why('engine/graph.ts', 'engine/onnx/proto.ts')).toBeNull();
    expect(why('storage/migrations/index.ts', 'storage/migrations/0004_workflow.ts')).toBeNull();
    expect(why('storage/db.test.ts', '../test/integration/helpers/db-contract.ts')).toBeNull();
  });

  it('fails an import that goes up, or sideways within a row', () => {
    expect(why('monitoring/metrics.ts', 'serving/types.ts')).toBe('goes up the layer map');
    expect(why('storage/db.ts', 'jobs/store.ts')).toBe('goes up the layer map');
    expect(why('core/ids.ts', 'storage/db.ts')).toBe('goes up the layer map');
    expect(why('gateway/scp.ts', 'api/app.ts')).toBe('goes up the layer map');
    expect(why('demo/index.ts', 'simulate/run.ts')).toBe('demo/ and simulate/ stand beside each other and import neither');
  });

  it('keeps engine/ to itself, models/ to the engine, and the engine behind its index', () => {
    expect(why('engine/quantize/vit.test.ts', 'models/vit.ts')).toBe('engine/ may import only engine/');
    expect(why('engine/graph.ts', 'core/errors.ts')).toBe('engine/ may import only engine/');
    expect(why('models/vit.ts', 'data/classes.ts')).toBe('models/ may import only models/ and engine/');
    expect(why('tracking/onnx-model.ts', 'engine/onnx/proto.ts')).toBe('engine/ is reached only through engine/index.ts');
    expect(why('types/x.d.ts', 'core/ids.ts')).toBe('types/ may import nothing in src/');
  });

  it('keeps the engine to onnxruntime-node and the ONNX protobuf, and models/ to no package, outside their tests', () => {
    expect(why('engine/session/run.ts', 'npm:onnxruntime-node')).toBeNull();
    expect(why('engine/onnx/proto.ts', 'npm:onnx-proto')).toBeNull();
    expect(why('engine/checkpoint/io.ts', 'npm:node:fs/promises')).toBeNull();
    expect(why('engine/graph.test.ts', 'npm:vitest')).toBeNull();
    expect(why('engine/graph.ts', 'npm:zod')).toBe('engine/ may use only the packages onnxruntime-node and onnx-proto (and node: built-ins)');
    expect(why('models/vit.ts', 'npm:onnxruntime-node')).toBe('models/ may use no package (and node: built-ins)');
    expect(why('api/app.ts', 'npm:fastify')).toBeNull();
    expect(why('../web/src/main.tsx', 'npm:react')).toBeNull();
  });

  it('fails a migration imported from outside, an unmapped folder, and non-test code leaving src/', () => {
    expect(why('workflow/audit.ts', 'storage/migrations/0004_workflow.ts')).toMatch(/^a migration is frozen history/);
    expect(why('workflow/x.ts', 'widgets/y.ts')).toBe('widgets/ is not on the layer map');
    expect(why('widgets/y.ts', 'core/ids.ts')).toBe('widgets/ is not on the layer map');
    expect(why('workflow/x.ts', 'types/dicom-vendor.d.ts')).toBe('types/ is not on the layer map');
    expect(why('storage/testing.ts', '../test/integration/helpers/db-contract.ts')).toBe('only a test file may import from outside src/ (the test/ helpers)');
    expect(why('helpers.ts', 'core/ids.ts')).toBe('helpers.ts is not in a layer folder');
  });

  it('lets the browser code import only the shared type-only and import-free modules of src/', () => {
    expect(why('../web/src/api/types.ts', 'workflow/views.ts')).toBeNull();
    expect(why('../web/src/lib/labels.ts', 'data/classes.ts')).toBeNull();
    expect(why('../web/src/pages/App.tsx', '../web/src/api/client.ts')).toBeNull();
    expect(why('../web/src/api/client.ts', 'workflow/service.ts')).toBe('web/ imports from src/ only workflow/views.ts and data/classes.ts');
  });

  it('lists every offending edge with its layers', () => {
    const found = checkEdges([
      { from: 'workflow/a.ts', to: 'data/b.ts' },
      { from: 'monitoring/metrics-workflow.ts', to: 'workflow/metrics.ts' },
      { from: 'engine/quantize/vit.test.ts', to: 'models/vit.ts' },
    ]).map(formatViolation);
    expect(found).toEqual([
      'monitoring/metrics-workflow.ts → workflow/metrics.ts (monitoring → workflow): goes up the layer map',
      'engine/quantize/vit.test.ts → models/vit.ts (engine → models): engine/ may import only engine/',
    ]);
  });

  it('reads static, re-exported, dynamic and type-position imports, and not commented-out ones', () => {
    const source = [
      "import { a } from './a.js';",
      "import type { B } from '../b/b.js';",
      "export * from './c.js';",
      "export { d } from './d.js';",
      "const e = await import('./e.js');",
      "type F = import('./f.js').F;",
      "// import { g } from './g.js';",
      "import ts from 'typescript';",
    ].join('\n');
    expect(importsOf(source)).toEqual(['./a.js', '../b/b.js', './c.js', './d.js', './e.js', './f.js', 'typescript']);
  });

  it('resolves a specifier to the .ts file it names', () => {
    const files = new Set(['workflow/audit.ts', 'engine/index.ts', 'web-e2e/ui.tsx']);
    const has = (p: string): boolean => files.has(p);
    expect(resolveImport('api/app.ts', '../workflow/audit.js', has)).toBe('workflow/audit.ts');
    expect(resolveImport('models/vit.ts', '../engine', has)).toBe('engine/index.ts');
    expect(resolveImport('web-e2e/a.ts', './ui.js', has)).toBe('web-e2e/ui.tsx');
    expect(resolveImport('storage/db.test.ts', '../../test/integration/helpers/x.js', has)).toBe('../test/integration/helpers/x.js');
    expect(resolveImport('api/app.ts', 'fastify', has)).toBe('npm:fastify');
    expect(resolveImport('../web/src/api/types.ts', '../../../src/workflow/audit.js', has)).toBe('workflow/audit.ts');
  });
});
