// What the HTTP app is built from. The API depends on the narrow slices of the services it calls
// (Pick<…>), so a route test can hand it a small fake and the real services need no HTTP knowledge.
import type { Logger } from '../core/logger.js';
import type { DriftCheckRequest } from '../monitoring/drift/check.js';
import type { ProfileStatus } from '../monitoring/drift/service.js';
import type { DriftCheck } from '../monitoring/drift/types.js';
import type { EvaluationService } from '../monitoring/evaluations/types.js';
import type { Metrics } from '../monitoring/metrics.js';
import type { InferOptions, InferResult, ModelAnswer, ModelDescription, PredictOptions, PredictResult, TensorInput } from '../serving/types.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ModelRegistry, Tracker } from '../tracking/index.js';
import type { WorkflowService } from '../workflow/service.js';
import type { Role, UserStore } from '../workflow/users.js';
import type { LoginLimiter } from './rate-limit.js';
import type { ReadinessCheck } from './readiness.js';
import type { AuthUsersPort } from './routes/auth.js';
import type { ModelCatalogPort } from './routes/models.js';
import type { PacsExportsPort } from './routes/pacs.js';
import type { RolloutPort } from './routes/rollout.js';
import type { SaliencyPort } from './routes/saliency.js';
import type { WebRoutesOptions } from './routes/web.js';

/** What the routes call of serving's ServingService. */
export interface ServingPort {
  predict(name: string, image: Uint8Array, o?: PredictOptions): Promise<PredictResult>;
  predictBatch(name: string, images: Uint8Array[], o?: PredictOptions): Promise<PredictResult[]>;
  /** Any model: a classifier's probabilities or a detector's boxes in the original image's pixels (the predict routes). */
  predictImages(name: string, images: Uint8Array[], o?: PredictOptions): Promise<ModelAnswer[]>;
  infer(name: string, input: TensorInput, o?: InferOptions): Promise<InferResult>;
  describe(name: string, version?: number): Promise<ModelDescription>;
  isReady(name?: string, version?: number): Promise<boolean>;
}
export type EvaluationsPort = Pick<EvaluationService, 'create' | 'get'>;
export type RegistryPort = Pick<ModelRegistry, 'listModels' | 'listVersions' | 'aliases'>;
export type UsersPort = Pick<UserStore, 'authenticate'>;
/** The second-reader workflow as the routes use it; blinding and roles are decided inside, not by the routes. */
export type WorkflowPort = Pick<
  WorkflowService,
  | 'intake'
  | 'getStudy'
  | 'getImage'
  | 'getDicomFacts'
  | 'getDicomInstance'
  | 'commitRead'
  | 'markBox'
  | 'worklist'
  | 'listStudies'
  | 'studyAudit'
  | 'metrics'
  // DICOMweb (routes/dicomweb)
  | 'intakeDicomInstance'
  | 'searchDicomStudies'
  | 'searchDicomSeries'
  | 'searchDicomInstances'
> & {
  policies: Pick<WorkflowService['policies'], 'list' | 'get'>;
};

export interface ApiLimits {
  /** Largest accepted request body / uploaded file (default 32 MiB) → 413 `payload_too_large`. */
  maxUploadBytes: number;
  /** Largest image the server decodes, by the pixel count its header declares (default 50 MP) → 422 `image_too_large`. */
  maxImagePixels: number;
  /** Largest STOW-RS request body, all its instances together (default 256 MiB) → 413; each instance is held to maxUploadBytes. */
  maxStowBytes: number;
  /** Files in one `/predict/batch` request (default 64) → 413. */
  maxBatchFiles: number;
  /** Whole-request deadline, headers and body included (default 120 s): slow clients cannot hold sockets forever. */
  requestTimeoutMs: number;
}

export const DEFAULT_LIMITS: ApiLimits = {
  maxUploadBytes: 32 * 1024 * 1024,
  maxImagePixels: 50_000_000,
  maxBatchFiles: 64,
  maxStowBytes: 256 * 1024 * 1024,
  requestTimeoutMs: 120_000,
};

export interface ApiDeps {
  logger: Logger;
  db: Db;
  registry: RegistryPort;
  serving: ServingPort;
  evaluations: EvaluationsPort;
  metrics: Metrics;
  users: UsersPort;
  /** The second-reader workflow (studies, reads, worklists, policies); without it those routes are not served. */
  workflow?: WorkflowPort;
  limits?: Partial<ApiLimits>;
  /**
   * Serve GET /metrics without a token (default false). Only for a listener that Prometheus alone
   * can reach (a private network or loopback); otherwise scrape with a token (docs/api.md).
   */
  publicMetrics?: boolean;
  /** Reported by /v2 (KServe server metadata). */
  serverVersion?: string;
  /** Log in and out with a password (session tokens for the web UI): /v1/auth. */
  accounts?: AuthUsersPort;
  /** Failed-login limits of POST /v1/auth/login (default: in this process); compose.ts shares them through Redis when configured. */
  loginLimiter?: LoginLimiter;
  /** Model versions, cards, alias history, promote and rollback: /v1/models/:name/… */
  modelCatalog?: ModelCatalogPort;
  /** Dataset versions, counts and sample thumbnails (images by manifest key): /v1/datasets. */
  objects?: Pick<ObjectStore, 'getBytes'>;
  /** Runs, metric series and comparisons: /v1/runs. */
  tracker?: Tracker;
  /** Saliency overlays of a study (needs `workflow`): /v1/studies/:id/saliency. */
  saliency?: SaliencyPort;
  /** Browser origins allowed to call the API (CORS); absent or empty: CORS off (security-headers.ts). */
  corsOrigins?: readonly string[];
  /** The web UI at / (built by `npm run build:web`); absent: no UI routes. */
  web?: WebRoutesOptions;
  /** Results sent back to the PACS nodes and their dead letters: /v1/pacs/exports. */
  pacs?: PacsExportsPort;
  /** Dependencies /readyz asks besides the database and serving (compose.ts: Redis when configured, the object store). */
  readiness?: readonly ReadinessCheck[];
  /** Drift checks, profiles and running a check: /v1/drift (monitoring/drift's DriftService fits). */
  drift?: DriftPort;
  /** Serve HTTPS with this PEM certificate chain and key (`serve --tls-cert/--tls-key`); absent: plain HTTP. */
  tls?: TlsFiles;
  /** The staged canary and the change-protocol reports: /v1/rollouts, /v1/models/:name/rollout…, /v1/protocol-reports. */
  rollout?: RolloutPort;
}

/** A PEM certificate (chain) and its private key, as read from disk. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/** Who may call a route: nobody needs a token (`public`), any user with a token (`any`), or these roles. */
export type AuthRule = 'public' | 'any' | readonly Role[];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Default `any`: a route is authenticated unless it says otherwise. */
    auth?: AuthRule;
    /** Errors in the KServe v2 shape (`{error, code, request_id}`). */
    kserve?: boolean;
  }
  interface FastifyRequest {
    /** The authenticated user (set by the auth hook; undefined on public routes). */
    user?: import('../workflow/users.js').AuthenticatedUser;
  }
}

/** What the drift routes need (monitoring/drift's DriftService). */
export interface DriftPort {
  check(req: DriftCheckRequest): Promise<DriftCheck>;
  checks(o: { model?: string; limit?: number }): Promise<DriftCheck[]>;
  profile(model: string): Promise<ProfileStatus | null>;
}
