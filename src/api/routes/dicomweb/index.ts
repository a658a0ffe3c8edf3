// DICOMweb (PS3.18) under /dicomweb, authenticated like the rest of the API: STOW-RS takes instances into
// the second-reader workflow (stow.ts), QIDO-RS searches them (qido.ts), WADO-RS sends them back
// (wado.ts). Everything it answers is de-identified; bodies speak the DICOM JSON model (its tag keys,
// not the /v1 camelCase). See docs/api.md, "DICOMweb".
import type { FastifyInstance } from 'fastify';

import type { ApiLimits, WorkflowPort } from '../../types.js';
import { qidoRoutes } from './qido.js';
import { stowRoutes } from './stow.js';
import { wadoRoutes } from './wado.js';

export interface DicomwebRoutesOptions {
  workflow: WorkflowPort;
  limits: ApiLimits;
}

export async function dicomwebRoutes(app: FastifyInstance, opts: DicomwebRoutesOptions): Promise<void> {
  await app.register(stowRoutes, opts);
  await app.register(qidoRoutes, opts);
  await app.register(wadoRoutes, opts);
}
