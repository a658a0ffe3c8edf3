// Inference export: the eval-mode graph of a model builder with trained weights embedded as initializers,
// BatchNorm folded into the preceding Conv, dropout gone, and metadata_props that let a server use the file on its
// own: class names, the input spec and the preprocessing the model was trained with. The result is a standard
// ONNX model (ONNX Runtime, Triton, TensorRT).
import type { StoredTensor } from '../checkpoint/safetensors.js';
import { EngineError } from '../errors.js';
import { Graph } from '../graph.js';
import type { TensorData } from '../onnx/dtype.js';
import { onnx } from '../onnx/proto.js';
import { modelProto } from '../onnx/serialize.js';
import type { ModelBuilder } from '../session/model.js';
import { foldBatchNorm } from './fold-batch-norm.js';
import { bypassIdentities, dropUnused } from './prune.js';

/** metadata_props keys written by the export (values are JSON). */
export const EXPORT_METADATA = {
  classes: 'secondread.classes',
  input: 'secondread.input',
  preprocessing: 'secondread.preprocessing',
  model: 'secondread.model',
} as const;

/** Name of the optional second output: the model's pooled embedding [batch, dim] (ModelOutputs.embedding). */
export const EMBEDDING_OUTPUT = 'embedding';

export interface ExportOptions {
  /** Trained parameters and buffers by name (a TrainSession's state or a checkpoint's tensors). */
  weights: ReadonlyMap<string, StoredTensor>;
  /** Class names, index = logit position. */
  classNames?: readonly string[];
  /** How inputs must be prepared (resize, channels, normalization, …); stored as JSON. */
  preprocessing?: unknown;
  /** Model description (e.g. its config); stored as JSON. */
  model?: unknown;
  /** Further metadata_props entries. */
  metadata?: Readonly<Record<string, string>>;
  /** Fold eval BatchNorm into Conv (default true). */
  foldBatchNorm?: boolean;
  name?: string;
  opset?: number;
}

export interface ExportedModel {
  bytes: Uint8Array;
  /** Name of the logits output. */
  output: string;
  /** Name of the embedding output, null when the model declares none. */
  embedding: string | null;
  foldedBatchNorms: number;
  metadata: Record<string, string>;
}

export function exportInferenceModel(build: ModelBuilder, opts: ExportOptions): ExportedModel {
  const g = new Graph(opts.name ?? 'inference', { mode: 'eval', opset: opts.opset });
  const { logits, embedding, outputs: extra = {} } = build(g);
  const out = g.output(logits, 'logits');
  // Logits stay the first output: a server that knows nothing of embeddings reads the first one.
  const emb = embedding ? g.output(embedding, EMBEDDING_OUTPUT) : null;
  const extraOutputs = Object.entries(extra).map(([name, t]) => g.output(t, name));

  const values = new Map<string, TensorData>();
  const missing: string[] = [];
  for (const p of g.state()) {
    const t = opts.weights.get(p.name);
    if (!t) {
      missing.push(p.name);
      continue;
    }
    if (t.dtype !== p.dtype || t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new EngineError('shape_mismatch', `weight '${p.name}' is ${t.dtype}[${t.shape.join(', ')}], the model needs ${p.dtype}[${p.shape.join(', ')}]`);
    }
    values.set(p.name, t.data);
  }
  if (missing.length > 0) {
    throw new EngineError(
      'invalid_argument',
      `export needs every parameter and buffer; missing: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''}`,
    );
  }
  const classNames = opts.classNames;
  if (classNames && classNames.length !== logits.shape[logits.shape.length - 1]) {
    throw new EngineError('shape_mismatch', `${classNames.length} class names for ${String(logits.shape[logits.shape.length - 1])} logits`);
  }

  const metadata: Record<string, string> = { ...opts.metadata };
  if (classNames) metadata[EXPORT_METADATA.classes] = JSON.stringify(classNames);
  if (opts.preprocessing !== undefined) metadata[EXPORT_METADATA.preprocessing] = JSON.stringify(opts.preprocessing);
  if (opts.model !== undefined) metadata[EXPORT_METADATA.model] = JSON.stringify(opts.model);

  const proto = modelProto(g, { stateValues: values, outputs: [out, ...(emb ? [emb] : []), ...extraOutputs] });
  const graph = proto.graph!;
  const folded = opts.foldBatchNorm === false ? 0 : foldBatchNorm(graph);
  bypassIdentities(graph);
  dropUnused(graph);
  const inputs = g.inputs().filter((t) => (graph.input ?? []).some((i) => i.name === t.name));
  metadata[EXPORT_METADATA.input] = JSON.stringify(inputs.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape })));
  proto.metadataProps = Object.entries(metadata).map(([key, value]) => ({ key, value }));

  const bytes = onnx.ModelProto.encode(onnx.ModelProto.create(proto)).finish();
  return { bytes, output: out.name, embedding: emb?.name ?? null, foldedBatchNorms: folded, metadata };
}
