// Saliency's gradient model: the registered ONNX classifier is decoded, rebuilt as an engine Graph with a
// fixed batch (weights become constants), and the engine's reverse-mode autodiff appends the gradient of
// one class's logit with respect to the input. ONNX Runtime runs forward and backward in one session.
// Anything the graph builder or the gradient rules do not know is an EngineError: the caller falls back
// to occlusion.
import * as ort from 'onnxruntime-node';

import { type ConstTensor, type DecodedModel, decodeModel, EngineError, gradients, Graph, type TensorRef } from '../../engine/index.js';
import type { ModelMetadata } from '../../tracking/index.js';

/** Model input geometry: `channels` planes of size×size. */
export interface Geometry {
  channels: number;
  size: number;
}

const GRAD_OUTPUT = 'saliency.input_grad';
const LOGITS_OUTPUT = 'saliency.logits';
const SEED_INPUT = 'saliency.class_seed';

/** Optional outputs the engine's gradient rule for an op reads (saved forward statistics). */
const OUTPUTS_FOR_GRADIENT: Readonly<Record<string, number>> = { LayerNormalization: 3 };

/** Opset 13 moved Split/Squeeze/Unsqueeze/ReduceSum axes to inputs; the graph builder speaks 17+, which reads them the same way. */
const MIN_REBUILD_OPSET = 13;

type GradientMeta = Pick<ModelMetadata, 'input' | 'output' | 'preprocessing' | 'classes'>;

function constantNodeValue(n: DecodedModel['nodes'][number]): ConstTensor {
  const a = n.attrs;
  const v = a.value ?? a.value_float ?? a.value_floats ?? a.value_int ?? a.value_ints;
  switch (v?.type) {
    case 'tensor':
      return v.value;
    case 'float':
      return { dtype: 'float32', shape: [], data: Float32Array.of(v.value) };
    case 'floats':
      return { dtype: 'float32', shape: [v.value.length], data: Float32Array.from(v.value) };
    case 'int':
      return { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(v.value)) };
    case 'ints':
      return { dtype: 'int64', shape: [v.value.length], data: BigInt64Array.from(v.value.map(BigInt)) };
    default:
      throw new EngineError('unsupported_op', `Constant node '${n.name}' has no value the engine can read`, { op: 'Constant' });
  }
}

/**
 * Rebuilds a decoded ONNX classifier as an engine Graph whose input has a fixed batch, so the engine's
 * shape inference and gradient rules apply to it. Weights become constants (only the input is
 * differentiated). EngineError for anything the graph builder does not know.
 */
export function rebuildGraph(m: DecodedModel, meta: GradientMeta, batch: number): { g: Graph; input: TensorRef; logits: TensorRef } {
  if (m.opset < MIN_REBUILD_OPSET) throw new EngineError('unsupported_op', `opset ${m.opset} is older than ${MIN_REBUILD_OPSET}`);
  const g = new Graph('saliency', { mode: 'eval', opset: Math.max(17, m.opset) });
  const tensors = new Map<string, TensorRef>();
  const { channels, size } = meta.preprocessing;
  for (const i of m.inputs) {
    if (m.initializers.has(i.name)) continue; // old exporters list initializers among the inputs
    if (i.name !== meta.input.name) throw new EngineError('invalid_argument', `the model has a second input '${i.name}'`);
    tensors.set(i.name, g.input(i.name, 'float32', [batch, channels, size, size]));
  }
  const input = tensors.get(meta.input.name);
  if (!input) throw new EngineError('invalid_argument', `the model has no input '${meta.input.name}'`);
  for (const [name, t] of m.initializers) tensors.set(name, g.constant(t.data, t.shape, t.dtype));
  const ref = (name: string): TensorRef | undefined => {
    if (name === '') return undefined;
    const t = tensors.get(name);
    if (!t) throw new EngineError('unknown_tensor', `tensor '${name}' is used before it is produced`);
    return t;
  };
  for (const n of m.nodes) {
    if (n.domain !== '' && n.domain !== 'ai.onnx') throw new EngineError('unsupported_op', `op ${n.domain}.${n.opType}`, { op: n.opType });
    if (n.opType === 'Constant') {
      const c = constantNodeValue(n);
      tensors.set(n.outputs[0]!, g.constant(c.data, c.shape, c.dtype));
      continue;
    }
    let count = n.outputs.length;
    while (count > 0 && n.outputs[count - 1] === '') count--; // trailing optional outputs left off
    count = Math.max(count, OUTPUTS_FOR_GRADIENT[n.opType] ?? 0);
    g.node(n.opType, n.inputs.map(ref), n.attrs, count).forEach((t, k) => {
      if (n.outputs[k]) tensors.set(n.outputs[k], t);
    });
  }
  const logits = ref(meta.output.name);
  if (!logits) throw new EngineError('invalid_argument', `the model has no output '${meta.output.name}'`);
  return { g, input, logits };
}

/**
 * ONNX bytes of the model's forward pass plus ∂(Σ seed ⊙ logits)/∂input: a one-hot seed row per image
 * gives the gradient of that class's logit. Inputs: the model's input and `saliency.class_seed`
 * [batch, classes]; outputs: `saliency.logits`, `saliency.input_grad`.
 */
export function inputGradientModel(onnxBytes: Uint8Array, meta: GradientMeta, batch: number): Uint8Array {
  const { g, input, logits } = rebuildGraph(decodeModel(onnxBytes), meta, batch);
  if (logits.shape.length !== 2 || logits.shape[0] !== batch || logits.shape[1] !== meta.classes.length) {
    throw new EngineError('shape_mismatch', `logits are [${logits.shape.join(', ')}], expected [${batch}, ${meta.classes.length}]`);
  }
  const seed = g.input(SEED_INPUT, logits.dtype, logits.shape);
  const grad = gradients(g, logits, [input], { seed }).get(input.name)!;
  return g.toModelProto({ outputs: [g.output(logits, LOGITS_OUTPUT), g.output(grad, GRAD_OUTPUT)] });
}

/** A session of the gradient model: logits and the input gradient of one class, for `batch` images per run. */
export class InputGradient {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    readonly batch: number,
    readonly geometry: Geometry,
    private readonly classes: number,
  ) {}

  static async create(onnxBytes: Uint8Array, meta: GradientMeta, o: { batch: number; threads?: number }): Promise<InputGradient> {
    const model = inputGradientModel(onnxBytes, meta, o.batch);
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: o.threads ?? 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    return new InputGradient(session, meta.input.name, o.batch, meta.preprocessing, meta.classes.length);
  }

  /** `inputs` holds exactly `batch` images [C, S, S] end to end; each one's `classIndex` logit is differentiated. */
  async run(inputs: Float32Array, classIndex: number): Promise<{ logits: Float32Array; grad: Float32Array }> {
    const { batch, classes } = this;
    const { channels, size } = this.geometry;
    const seed = new Float32Array(batch * classes);
    for (let r = 0; r < batch; r++) seed[r * classes + classIndex] = 1;
    const out = await this.session.run(
      { [this.inputName]: new ort.Tensor('float32', inputs, [batch, channels, size, size]), [SEED_INPUT]: new ort.Tensor('float32', seed, [batch, classes]) },
      [LOGITS_OUTPUT, GRAD_OUTPUT],
    );
    return { logits: out[LOGITS_OUTPUT]!.data as Float32Array, grad: out[GRAD_OUTPUT]!.data as Float32Array };
  }

  close(): Promise<void> {
    return this.session.release();
  }
}
