// GET /v1/studies/:id/saliency: where in the study's image the model version that read it found its
// evidence for a class, as a PNG overlay (src/serving/saliency.ts computes it; the response headers say
// how). Blinding is the workflow's: the study is fetched AS THE CALLER, and a view the workflow blinded
// (a reader before committing read A) gets no saliency either — the map would show the model's opinion.
import type { FastifyInstance } from 'fastify';

import { SecondreadError } from '../../core/errors.js';
import { SALIENCY_METHODS, type SaliencyService } from '../../serving/saliency.js';
import type { WorkflowService } from '../../workflow/service.js';
import { STUDY_ID } from '../../workflow/service.js';
import { errorResponses } from '../schemas.js';
import { typed } from '../type-provider.js';

/** What the route calls of the workflow: the caller's view of the study (blinding decided there) and its image. */
export type SaliencyWorkflowPort = Pick<WorkflowService, 'getStudy' | 'getImage'>;
export type SaliencyPort = Pick<SaliencyService, 'explain'>;

export interface SaliencyRoutesOptions {
  workflow: SaliencyWorkflowPort;
  saliency: SaliencyPort;
}

/** Every role may ask; whether a reader may see it yet is the workflow's blinding rule. */
export const SALIENCY_ROLES = ['reader', 'adjudicator', 'ml-engineer', 'admin'] as const;

/** A reader asked for the model's evidence before committing their own read (anchoring bias). */
export class BlindedError extends SecondreadError {
  constructor(studyId: string) {
    super('blinded', "the model's evidence is shown only after your read (A) of this study is committed", 403, { studyId });
  }
}

/** The model's read of the study failed at intake: there is no model decision to explain. */
export class NoModelReadError extends SecondreadError {
  constructor(studyId: string) {
    super('no_model_read', 'no model read this study (its read failed at intake), so there is no model evidence to show', 409, { studyId });
  }
}

export async function saliencyRoutes(fastify: FastifyInstance, opts: SaliencyRoutesOptions): Promise<void> {
  const app = typed(fastify);
  const { workflow, saliency } = opts;

  app.get(
    '/v1/studies/:id/saliency',
    {
      config: { auth: SALIENCY_ROLES },
      schema: {
        tags: ['studies'],
        summary: "The model's evidence for a class, as a PNG heatmap over the study image",
        description:
          "Computed for the model version that read the study. `x-saliency-method` says how: `smoothgrad` (the gradient of the class logit with respect to the input, by the engine's autodiff over the registered model, averaged over noisy copies) or `occlusion` (the logit drop when a square is hidden; used when the model's graph cannot be differentiated). " +
          "`x-saliency-class` names the class explained (default: the model read's top class), `x-saliency-model` the version. A reader gets 403 `blinded` until their read A is committed; 409 `no_model_read` when the model did not read the study; 503 `saliency_busy` (with Retry-After) when too many maps are being computed.",
        produces: ['image/png'],
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: STUDY_ID.source, description: 'study id' } } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            class: {
              type: 'string',
              pattern: '^[A-Za-z0-9][A-Za-z0-9._ -]{0,99}$',
              description: "one of the model version's classes (default: the model read's top class)",
            },
            method: { type: 'string', enum: [...SALIENCY_METHODS], description: 'default: smoothgrad when the model can be differentiated, else occlusion' },
          },
        },
        response: {
          200: { description: 'image/png', content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } },
          ...errorResponses([400, 401, 403, 404, 409, 422, 500, 503]),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const view = await workflow.getStudy(request.user!, id);
      if (view.blinded) throw new BlindedError(id);
      if (!view.model) throw new NoModelReadError(id);
      const image = await workflow.getImage(id);
      const out = await saliency.explain({
        model: view.model,
        image: image.bytes,
        class: request.query.class ?? view.reads.model?.top.class,
        method: request.query.method,
      });
      return (
        reply
          .type('image/png')
          // Patient data: not kept by browsers or proxies (the server keeps recent maps itself).
          .header('cache-control', 'private, no-store')
          .header('x-saliency-method', out.method)
          .header('x-saliency-class', out.class)
          .header('x-saliency-model', `${out.model.name}@${out.model.version}`)
          .send(out.png)
      );
    },
  );
}
