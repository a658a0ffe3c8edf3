// Opening a model file for the registry: parse its metadata_props, create an ONNX Runtime session,
// check its input/output shapes against the model metadata, and run a smoke inference. Every failure
// becomes an InvalidModelError with a sentence a user can act on (never an ORT stack trace).
import * as ort from 'onnxruntime-node';

import { onnx, type OnnxTypes } from '../engine/index.js';
import { checkDetectionValues, detectionFetches, type DetectionMeta, readDetections } from './detection.js';
import { InvalidModelError } from './errors.js';
import type { ModelMetadata } from './model-metadata.js';

export interface TensorSpec {
  name: string;
  type: string;
  shape: (number | string | null)[];
}

export interface OpenedModel {
  session: ort.InferenceSession;
  metadataProps: Record<string, string>;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  producer: string;
}

/** Largest model file accepted (protobuf's own limit is 2 GiB). */
export const MAX_MODEL_BYTES = 1 << 30;

const ONNX_FLOAT = 1;

/** Reads graph inputs/outputs and metadata_props from the protobuf; a file that does not parse is not ONNX. */
function readProto(bytes: Uint8Array): { props: Record<string, string>; inputs: TensorSpec[]; outputs: TensorSpec[]; producer: string } {
  if (bytes.length === 0) throw new InvalidModelError('the model file is empty');
  if (bytes.length > MAX_MODEL_BYTES) throw new InvalidModelError(`the model file is larger than ${MAX_MODEL_BYTES} bytes`);
  let m: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new InvalidModelError(`not an ONNX model (the protobuf does not parse: ${(err as Error).message}); is the file truncated?`);
  }
  const g = m.graph;
  if (!g || !g.node?.length || !g.output?.length) throw new InvalidModelError('not an ONNX model: it has no graph, nodes or outputs');
  const initializers = new Set((g.initializer ?? []).map((t) => t.name));
  const spec = (v: OnnxTypes.IValueInfoProto): TensorSpec => {
    const tt = v.type?.tensorType;
    return {
      name: v.name ?? '',
      type: tt?.elemType === ONNX_FLOAT ? 'float32' : `onnx-type-${tt?.elemType ?? 'none'}`,
      // An unset dimension decodes as 0: unknown, like a symbolic one.
      shape: (tt?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0) > 0 ? Number(d.dimValue) : null)),
    };
  };
  return {
    props: Object.fromEntries((m.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
    // Old exporters list initializers among the inputs; they are not fed.
    inputs: (g.input ?? []).filter((i) => !initializers.has(i.name ?? '')).map(spec),
    outputs: (g.output ?? []).map(spec),
    producer: [m.producerName, m.producerVersion].filter(Boolean).join(' '),
  };
}

export async function openModel(bytes: Uint8Array, threads = 1): Promise<OpenedModel> {
  const proto = readProto(bytes);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
  } catch (err) {
    const first = String((err as Error).message ?? err)
      .split('\n')[0]!
      .slice(0, 300);
    throw new InvalidModelError(`ONNX Runtime cannot load the model: ${first}`);
  }
  return { session, metadataProps: proto.props, inputs: proto.inputs, outputs: proto.outputs, producer: proto.producer };
}

function pick(specs: TensorSpec[], name: string | undefined, what: 'input' | 'output'): TensorSpec {
  if (name !== undefined) {
    const s = specs.find((x) => x.name === name);
    if (!s) throw new InvalidModelError(`the model has no ${what} named '${name}' (it has: ${specs.map((x) => x.name).join(', ')})`);
    return s;
  }
  if (what === 'input' && specs.length !== 1)
    throw new InvalidModelError(`a classifier must have exactly one input, the model has ${specs.length} (${specs.map((x) => x.name).join(', ')})`);
  return specs[0]!;
}

/** The model's image input and logits output (by name when given, else the only input and the first output). */
export function selectIO(m: OpenedModel, names: { input?: string; output?: string } = {}): { input: TensorSpec; output: TensorSpec } {
  return { input: pick(m.inputs, names.input, 'input'), output: pick(m.outputs, names.output, 'output') };
}

const fixed = (d: number | string | null | undefined): d is number => typeof d === 'number' && d > 0;

/** Throws unless the model's declared input [N, C, H, W] and output [N, classes] agree with the metadata. */
export function checkShapes(m: OpenedModel, meta: ModelMetadata): void {
  const { input, output } = selectIO(m, { input: meta.input.name, output: meta.output.name });
  if (input.type !== 'float32') throw new InvalidModelError(`input '${input.name}' must be float32, the model declares ${input.type}`);
  const want = [meta.input.shape[0], meta.preprocessing.channels, meta.preprocessing.size, meta.preprocessing.size];
  if (input.shape.length !== 4)
    throw new InvalidModelError(`input '${input.name}' must be [batch, channels, height, width], the model declares [${input.shape.join(', ')}]`);
  input.shape.forEach((d, i) => {
    const w = want[i];
    if (fixed(d) && fixed(w) && d !== w) {
      throw new InvalidModelError(`input '${input.name}' is [${input.shape.join(', ')}] but the metadata says [${want.join(', ')}]`, {
        model: input.shape,
        meta: want,
      });
    }
  });
  const classes = meta.classes.length;
  if (meta.detection) return checkDetectorOutputs(m, meta.detection, classes);
  if (output.shape.length > 0) {
    if (output.shape.length !== 2)
      throw new InvalidModelError(`output '${output.name}' must be [batch, classes], the model declares [${output.shape.join(', ')}]`);
    if (fixed(output.shape[1]) && output.shape[1] !== classes) {
      throw new InvalidModelError(`output '${output.name}' has ${output.shape[1]} classes but the metadata lists ${classes}`, {
        model: output.shape[1],
        meta: classes,
      });
    }
  }
}

/** A detector's declared outputs: present, of the right element type, and of the layout's shapes where fixed. */
function checkDetectorOutputs(m: OpenedModel, d: DetectionMeta, classes: number): void {
  const ranks: Record<string, { type: string; rank: number; last?: number }> =
    d.layout === 'nms'
      ? {
          [d.outputs.selected!]: { type: 'onnx-type-7', rank: 2, last: 3 },
          [d.outputs.detBoxes!]: { type: 'float32', rank: 2, last: 4 },
          [d.outputs.detScores!]: { type: 'float32', rank: 1 },
          // The candidates the NMS chose from, when the graph also outputs them: their last axis is the classes.
          ...(m.outputs.some((o) => o.name === d.outputs.scores) ? { [d.outputs.scores]: { type: 'float32', rank: 3, last: classes } } : {}),
        }
      : { [d.outputs.boxes]: { type: 'float32', rank: 3, last: 4 }, [d.outputs.scores]: { type: 'float32', rank: 3, last: classes } };
  for (const [name, want] of Object.entries(ranks)) {
    const s = pick(m.outputs, name, 'output');
    if (s.type !== want.type)
      throw new InvalidModelError(`detector output '${name}' must be ${want.type === 'onnx-type-7' ? 'int64' : want.type}, the model declares ${s.type}`);
    if (s.shape.length === 0) continue;
    const last = s.shape[s.shape.length - 1];
    if (s.shape.length !== want.rank || (want.last !== undefined && fixed(last) && last !== want.last))
      throw new InvalidModelError(
        `detector output '${name}' must have ${want.rank} dimensions${want.last !== undefined ? ` ending in ${want.last}` : ''}, the model declares [${s.shape.join(', ')}]`,
      );
  }
}

/**
 * Runs the model on a deterministic synthetic batch and checks the output is [N, classes] of finite
 * numbers: a file can load and still fail at run time (a wrong Reshape, a missing op kernel).
 */
export async function smokeTest(m: OpenedModel, meta: ModelMetadata): Promise<void> {
  const { input, output } = selectIO(m, { input: meta.input.name, output: meta.output.name });
  const declared = input.shape[0];
  const n = fixed(declared) ? declared : 2;
  const { size, channels } = meta.preprocessing;
  const data = new Float32Array(n * channels * size * size);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.7) * 1.5;
  let result: ort.InferenceSession.ReturnType;
  try {
    const fetches = meta.detection ? detectionFetches(meta.detection) : [output.name];
    result = await m.session.run({ [input.name]: new ort.Tensor('float32', data, [n, channels, size, size]) }, fetches);
  } catch (err) {
    const first = String((err as Error).message ?? err)
      .split('\n')[0]!
      .slice(0, 300);
    throw new InvalidModelError(`the model failed on a ${n}×${channels}×${size}×${size} test input: ${first}`);
  }
  if (meta.detection) return checkDetectionValues(readDetections(result, n, meta.classes.length, meta.detection));
  const out = result[output.name]!;
  const dims = [...out.dims];
  if (dims.length !== 2 || dims[0] !== n || dims[1] !== meta.classes.length) {
    throw new InvalidModelError(`the model returned [${dims.join(', ')}] for ${n} images, expected [${n}, ${meta.classes.length}] (one score per class)`);
  }
  const values = out.data as Float32Array;
  if (!values.every((v) => Number.isFinite(v))) throw new InvalidModelError('the model returned non-finite scores (NaN or infinity) on a test input');
}
