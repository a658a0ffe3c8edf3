// The workflow's model reader backed by the serving runtime: every study is read by the model's
// production deployment, with the canary rules applied and sticky by study id (a study is always read
// by the same deployment), and the route serving took is recorded in the audit trail. Which model:
// the configured name, else the only registered model that has a `production` alias — looked up at
// each read, so a model promoted after the server started is picked up. Without one, the read fails
// (the study is still taken in and goes to reader B as `no_model_read`), and the reason is logged
// once, not per study.
import { SecondreadError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { isDetectResult } from '../serving/types.js';
import { assertModelName } from '../tracking/index.js';
import type { BoxRead, BoxReader } from '../workflow/boxes.js';
import type { ModelRead, ModelReader } from '../workflow/service.js';
import type { RegistryPort, ServingPort } from './types.js';

/** No model is configured and the registry does not name exactly one production model. */
export class NoWorkflowModelError extends SecondreadError {
  constructor(message: string) {
    super('no_workflow_model', message, 503);
  }
}

export interface ServingModelReaderOptions {
  serving: Pick<ServingPort, 'predict'>;
  registry: Pick<RegistryPort, 'listModels'>;
  /** The model that reads studies (config `workflow.model`, `--workflow-model`); absent: the only production model. */
  model?: string;
  logger: Logger;
}

export class ServingModelReader implements ModelReader {
  private readonly serving: Pick<ServingPort, 'predict'>;
  private readonly registry: Pick<RegistryPort, 'listModels'>;
  private readonly model: string | undefined;
  private readonly logger: Logger;
  private lastProblem: string | null = null;

  constructor(o: ServingModelReaderOptions) {
    this.serving = o.serving;
    this.registry = o.registry;
    this.model = o.model === undefined ? undefined : assertModelName(o.model);
    this.logger = o.logger;
  }

  async read(image: Uint8Array, o: { studyId: string }): Promise<ModelRead> {
    const name = this.model ?? (await this.productionModel());
    // No alias: serving's default, the production alias with the canary weight (and shadow) applied,
    // sticky by the study id. Naming `production` explicitly would bypass the canary.
    const r = await this.serving.predict(name, image, { studyId: o.studyId, embedding: true });
    return { model: r.model, version: r.version, predictions: r.predictions, top: r.top, route: r.route, ...(r.embedding ? { embedding: r.embedding } : {}) };
  }

  /** The name of the only registered model with a production alias. */
  async productionModel(): Promise<string> {
    const names = (await this.registry.listModels()).filter((m) => m.aliases.production !== undefined).map((m) => m.name);
    if (names.length === 1) {
      this.lastProblem = null;
      return names[0]!;
    }
    const problem =
      names.length === 0
        ? 'no registered model has a production alias: studies are taken in without a model read (they go to reader B); promote a model or set workflow.model'
        : `several models have a production alias (${names.join(', ')}): set workflow.model or --workflow-model to choose the one that reads studies`;
    if (problem !== this.lastProblem) {
      this.logger.warn({ models: names }, problem);
      this.lastProblem = problem;
    }
    throw new NoWorkflowModelError(problem);
  }
}

/** The configured workflow detector answered as a classifier (config `workflow.detector` names the wrong model). */
export class WorkflowDetectorTaskError extends SecondreadError {
  constructor(name: string) {
    super('not_a_detector', `workflow.detector '${name}' is not a detector: its production version answers class probabilities, not boxes`, 409, {
      model: name,
    });
  }
}

/**
 * The workflow's box reader: every CXR study is also read by the configured detector's production deployment
 * (config `workflow.detector`, `--workflow-detector`; canary rules apply, sticky by study id), its boxes in the
 * original image's pixels. Only a named detector reads: no guessing among production models.
 */
export class ServingDetectorReader implements BoxReader {
  private readonly serving: Pick<ServingPort, 'predictImages'>;
  readonly model: string;

  constructor(o: { serving: Pick<ServingPort, 'predictImages'>; model: string }) {
    this.serving = o.serving;
    this.model = assertModelName(o.model);
  }

  async read(image: Uint8Array, o: { studyId: string }): Promise<BoxRead> {
    const [r] = await this.serving.predictImages(this.model, [image], { studyId: o.studyId });
    if (!r || !isDetectResult(r)) throw new WorkflowDetectorTaskError(this.model);
    return { model: r.model, version: r.version, route: r.route, detections: r.detections };
  }
}
