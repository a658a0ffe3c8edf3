// One detector training step, as the algorithm reads (YOLOv8's order): predict on the batch with the current weights
// (training-mode forward: BatchNorm on the batch's statistics, exactly the forward the step will compute), assign
// the ground truth to anchors with the task-aligned assigner on those predictions, then the step — forward, loss
// with the assigner's targets, backward, update — as one ONNX Runtime run.
//
// The forward for the assigner is a second ORT session on the same weights (a live view of the TrainSession's
// state, no copy): one more forward per step, ≈ a third of the step's compute.
import { EvalSession, type ExecutionOptions, type StepResult, type TrainSession } from '../engine/index.js';
import { type DetectorConfig, detectorGrid, detectorModel } from '../models/detector.js';
import { type AssignerOptions, assignImage, type GroundTruth, stackTargets, TAL_DEFAULTS } from '../models/detector-assign.js';
import { decodeImage } from '../models/detector-decode.js';

export interface DetectionBatch {
  /** [n, C, S, S], normalized. */
  images: Float32Array;
  /** Per image: boxes in input pixels (after augmentation) and class indices. */
  truths: readonly GroundTruth[];
}

export class DetectionStepper {
  private constructor(
    private readonly session: TrainSession,
    private readonly forward: EvalSession,
    private readonly cfg: DetectorConfig,
    private readonly assigner: AssignerOptions,
  ) {}

  /** `session` must train detectorModel(cfg); the assigner's forward reads its live weights. */
  static async create(
    session: TrainSession,
    cfg: DetectorConfig,
    execution?: ExecutionOptions,
    assigner: AssignerOptions = TAL_DEFAULTS,
  ): Promise<DetectionStepper> {
    const forward = await EvalSession.create(detectorModel(cfg, { targets: false }), {
      mode: 'train',
      state: () => session.stateTensors(['param', 'buffer']),
      execution,
    });
    return new DetectionStepper(session, forward, cfg, assigner);
  }

  /** The training-mode head output [n, A, 4·regMax + nc] for images with the current weights (what the assigner reads). */
  async predict(images: Float32Array, n: number): Promise<Float32Array> {
    const S = this.cfg.imageSize;
    return (await this.forward.run({ images: { data: images, shape: [n, this.cfg.inChannels, S, S] } })).logits as Float32Array;
  }

  async step(batch: DetectionBatch): Promise<StepResult> {
    const { cfg } = this;
    const n = batch.truths.length;
    const S = cfg.imageSize;
    const images = { data: batch.images, shape: [n, cfg.inChannels, S, S] };
    const logits = await this.predict(batch.images, n);
    const targets = stackTargets(
      batch.truths.map((t, i) => assignImage(decodeImage(logits, i, cfg), t, cfg, this.assigner)),
      cfg,
    );
    const { anchors: A } = detectorGrid(cfg);
    return this.session.step({
      images,
      target_scores: { data: targets.target_scores, shape: [n, A, cfg.numClasses] },
      target_boxes: { data: targets.target_boxes, shape: [n, A, 4] },
      fg: { data: targets.fg, shape: [n, A] },
    });
  }

  async release(): Promise<void> {
    await this.forward.release();
  }
}
