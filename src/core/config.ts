// Configuration: defaults < optional secondread.yaml < environment variables, validated with zod so a
// typo fails at startup with the offending key named, not later with an undefined.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import { ConfigError } from './errors.js';

/** A DICOM Application Entity title (PS3.5 §6.2: at most 16 characters, no backslash or control characters, not all spaces). */
export const aeTitleSchema = z
  .string()
  .regex(/^[\x20-\x5b\x5d-\x7e]{1,16}$/, 'an AE title: 1-16 printable ASCII characters, no backslash')
  .refine((s) => s.trim() !== '', 'an AE title must not be all spaces');

/** Where results are sent: a DIMSE C-STORE SCP or a DICOMweb STOW-RS service. */
const pacsNodeSchema = z.discriminatedUnion('kind', [
  z
    .object({
      name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a node name: lower-case letters, digits, _ and -'),
      kind: z.literal('dimse'),
      /** The PACS's (called) AE title. */
      aet: aeTitleSchema,
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535),
      /** Our (calling) AE title as the PACS knows it (default: pacs.dimse.aeTitle). */
      callingAet: aeTitleSchema.optional(),
    })
    .strict(),
  z
    .object({
      name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a node name: lower-case letters, digits, _ and -'),
      kind: z.literal('dicomweb'),
      /** The DICOMweb service root; STOW-RS posts to `<url>/studies`. */
      url: z.string().url(),
      /** Sent as the Authorization header: `{ bearer }` or `{ basic: { user, password } }`. */
      auth: z
        .union([z.object({ bearer: z.string().min(1) }).strict(), z.object({ basic: z.object({ user: z.string(), password: z.string() }).strict() }).strict()])
        .optional(),
    })
    .strict(),
]);
export type PacsNode = z.infer<typeof pacsNodeSchema>;

const dimseDefaults = { host: '0.0.0.0', aeTitle: 'SECONDREAD', allow: [], maxAssociations: 8, maxPduBytes: 65536, maxInstanceMb: 256, timeoutS: 60 };
const exportDefaults = { pollMs: 2000, maxAttempts: 5, backoffMs: 5000, maxBackoffMs: 600_000, modelResultAfter: 'decision' as const };

const pacsSchema = z
  .object({
    dimse: z
      .object({
        /** The C-STORE SCP's port; absent: `serve`/`start` start no SCP (`dicom listen` takes --port). */
        port: z.number().int().min(0).max(65535).optional(),
        host: z.string().min(1).default(dimseDefaults.host),
        /** Our AE title: associations calling another one are refused. */
        aeTitle: aeTitleSchema.default(dimseDefaults.aeTitle),
        /** Who may send: calling AE title (or '*') and, when given, the addresses it must come from. Empty: nobody. */
        allow: z
          .array(z.object({ aeTitle: z.union([aeTitleSchema, z.literal('*')]), hosts: z.array(z.string().min(1)).min(1).optional() }).strict())
          .default([]),
        /** Associations open at once; more are refused (transient, local limit exceeded). */
        maxAssociations: z.number().int().min(1).max(1024).default(dimseDefaults.maxAssociations),
        /** The largest PDU we announce we receive. */
        maxPduBytes: z
          .number()
          .int()
          .min(4096)
          .max(16 * 1024 * 1024)
          .default(dimseDefaults.maxPduBytes),
        /** The largest instance accepted, MiB (a larger C-STORE is answered "out of resources"). */
        maxInstanceMb: z.number().positive().max(4096).default(dimseDefaults.maxInstanceMb),
        /** Idle association and PDU timeout, seconds. */
        timeoutS: z.number().positive().max(3600).default(dimseDefaults.timeoutS),
      })
      .strict()
      .default(dimseDefaults),
    /** The PACS nodes every result is sent to (none: nothing is exported). */
    nodes: z
      .array(pacsNodeSchema)
      .default([])
      .refine((nodes) => new Set(nodes.map((n) => n.name)).size === nodes.length, 'node names must be unique'),
    export: z
      .object({
        /** How often the audit trail is read for new results and due retries are sent. */
        pollMs: z.number().int().min(50).max(3_600_000).default(exportDefaults.pollMs),
        /** Sends of one result to one node before it goes to the dead letters. */
        maxAttempts: z.number().int().min(1).max(100).default(exportDefaults.maxAttempts),
        /** Wait before the first retry; doubled after each failure up to maxBackoffMs. */
        backoffMs: z.number().int().min(0).default(exportDefaults.backoffMs),
        maxBackoffMs: z.number().int().min(0).default(exportDefaults.maxBackoffMs),
        /**
         * When the model's result SR leaves: after reader A's read and the policy's decision (default; the
         * SR then carries the decision, and the model's answer never reaches reader A through the PACS),
         * or at once after the model read (sites without blinded double reading).
         */
        modelResultAfter: z.enum(['decision', 'read']).default(exportDefaults.modelResultAfter),
      })
      .strict()
      .default(exportDefaults),
  })
  .strict()
  .default({ dimse: dimseDefaults, nodes: [], export: exportDefaults });

const retrainDefaults = { onDrift: false, includeAutoFinalized: false, checkSeconds: 60, startCanary: false, train: {} };
const retrainSchema = z
  .object({
    /** The registered model retrained (its production version); absent: workflow.model, else the only production model. */
    model: z.string().min(1).optional(),
    /** Retrain every this many hours (absent: no schedule). */
    everyHours: z
      .number()
      .positive()
      .max(24 * 366)
      .optional(),
    /** Retrain once this many labels (adjudicated and QA studies) were finalized since the last retrain. */
    newLabels: z.number().int().positive().optional(),
    /** Retrain on a drift alarm for the production model. */
    onDrift: z.boolean().default(retrainDefaults.onDrift),
    /** Feedback also takes auto-finalized studies B never reviewed (labelled by A+model agreement). */
    includeAutoFinalized: z.boolean().default(retrainDefaults.includeAutoFinalized),
    /** How often the schedule, the labels count and drift alarms of other processes are checked, seconds. */
    checkSeconds: z.number().min(1).max(86_400).default(retrainDefaults.checkSeconds),
    /** The change protocol (change-protocol.yaml) every candidate is evaluated against; absent: candidates wait in the registry. */
    protocol: z.string().min(1).optional(),
    /** Start the staged canary when a candidate passes the protocol. */
    startCanary: z.boolean().default(retrainDefaults.startCanary),
    /** Training options of retraining runs (epochs, batchSize, lr, seed, …: docs/training.md). */
    train: z.record(z.string(), z.unknown()).default(retrainDefaults.train),
  })
  .strict()
  .default(retrainDefaults);

const driftDefaults = { profileOnRegister: true, checkIntervalSeconds: 900, window: '200', modality: 'all' as const, alpha: 0.05, minNewReads: 100 };
/** The drift monitor's automatic steps (src/monitoring/drift, docs/drift.md "What runs automatically"). */
const driftSchema = z
  .object({
    /** Compute the reference profile of every version registered with a dataset version (from its validation split). */
    profileOnRegister: z.boolean().default(driftDefaults.profileOnRegister),
    /** Seconds between the scheduled drift checks of `secondread serve`; 0 turns them off (env SECONDREAD_DRIFT_CHECK_SECONDS). */
    checkIntervalSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .refine((v) => v === 0 || v >= 10, '0 (off) or at least 10 seconds')
      .default(driftDefaults.checkIntervalSeconds),
    /** The window a scheduled check tests, as `drift check --window` takes it: the last N reads (200) or a duration (24h). */
    window: z
      .string()
      .regex(/^\d{1,6}[smhd]?$/, 'a number of reads (e.g. 200) or a duration (e.g. 30m, 24h, 7d)')
      .default(driftDefaults.window),
    /** The modality a scheduled check takes: all, cxr or oct. */
    modality: z.enum(['all', 'cxr', 'oct']).default(driftDefaults.modality),
    /** Family-wise significance level of a scheduled check (Holm). */
    alpha: z.number().gt(0).lt(0.5).default(driftDefaults.alpha),
    /** A model is checked only once this many of its reads arrived since its last check (no new data, no new check). */
    minNewReads: z.number().int().min(1).max(100_000).default(driftDefaults.minNewReads),
  })
  .strict()
  .default(driftDefaults);

const configSchema = z
  .object({
    /** Root of the embedded default's state (SQLite file, object directory). */
    home: z.string().min(1).default('.secondread'),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    /** `auto`: human-readable lines when stderr is a terminal, JSON lines when piped; or force `pretty` / `json`. */
    logFormat: z.enum(['auto', 'pretty', 'json']).default('auto'),
    database: z
      .object({
        /** postgres://… selects PostgreSQL; absent selects SQLite at `sqlitePath`. */
        url: z.string().url().optional(),
        sqlitePath: z.string().optional(),
      })
      .default({}),
    objectStore: z
      .object({
        /** `s3://bucket/prefix` selects S3; `file:///dir` or absent selects the filesystem store. */
        url: z.string().optional(),
        s3Endpoint: z.string().url().optional(),
        s3Region: z.string().default('us-east-1'),
        s3ForcePathStyle: z.boolean().default(true),
      })
      .default({ s3Region: 'us-east-1', s3ForcePathStyle: true }),
    redisUrl: z.string().optional(),
    http: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        /** Largest request body / uploaded image, MiB (413 above it). */
        maxUploadMb: z.number().positive().max(1024).default(32),
        /** Largest image decoded, by its header's width × height (decompression bombs; 422 above it). */
        maxImagePixels: z.number().int().positive().default(50_000_000),
        /** Images in one /predict/batch request. */
        maxBatchFiles: z.number().int().positive().max(10_000).default(64),
        /** Browser origins allowed to call the API (CORS), exact `https://host[:port]`; empty: CORS off. */
        corsOrigins: z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'an origin such as https://viewer.example.org (no path)')).default([]),
      })
      .default({ host: '127.0.0.1', port: 8080, maxUploadMb: 32, maxImagePixels: 50_000_000, maxBatchFiles: 64, corsOrigins: [] }),
    workflow: z
      .object({
        /** The registered model that reads every study at intake (its `production` alias); absent: the only model that has one. */
        model: z.string().min(1).optional(),
        /** The registered detector that also reads every CXR study (its `production` alias); absent: no boxes. */
        detector: z.string().min(1).optional(),
        /**
         * What a read costs, for the time and cost saved (src/workflow/metrics.ts). All of it or none
         * (then the placeholders of DEFAULT_ECONOMICS), so a department's figures never mix with them.
         */
        economics: z
          .object({
            minutesPerRead: z.object({ cxr: z.number().positive(), oct: z.number().positive() }).strict(),
            costPerRead: z.object({ cxr: z.number().nonnegative(), oct: z.number().nonnegative() }).strict(),
            inferenceCostPerStudy: z.number().nonnegative(),
            currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR'),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    /** The DICOM network edge (src/gateway, docs/pacs.md): the C-STORE SCP and the PACS nodes results go back to. */
    pacs: pacsSchema,
    /** The feedback loop (src/loop, docs/jobs.md "Retraining"): what retrains the production model, and with what. */
    retrain: retrainSchema,
    drift: driftSchema,
  })
  .strict();

export type Config = z.infer<typeof configSchema> & {
  database: { sqlitePath: string };
  objectStore: { url: string };
};

type Env = Record<string, string | undefined>;

function boolFromEnv(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  return !['0', 'false', 'no', 'off', ''].includes(v.toLowerCase());
}

function intFromEnv(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new ConfigError(`${name} must be an integer, got '${v}'`);
  return n;
}

/** `AET`, `AET@host` or `*@host`, comma-separated (SECONDREAD_DIMSE_ALLOW). */
function allowFromEnv(v: string | undefined): { aeTitle: string; hosts?: string[] }[] | undefined {
  if (v === undefined) return undefined;
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const at = s.lastIndexOf('@');
      return at < 0 ? { aeTitle: s } : { aeTitle: s.slice(0, at), hosts: [s.slice(at + 1)] };
    });
}

function jsonFromEnv(name: string, v: string | undefined): unknown {
  if (v === undefined) return undefined;
  try {
    return JSON.parse(v) as unknown;
  } catch (err) {
    throw new ConfigError(`${name} must be JSON: ${(err as Error).message}`);
  }
}

/** Environment variables that override the file; each maps to one config key. */
function overridesFromEnv(env: Env): Record<string, unknown> {
  const strip = <T extends Record<string, unknown>>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  return strip({
    home: env.SECONDREAD_HOME,
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
    redisUrl: env.REDIS_URL,
    database: strip({ url: env.DATABASE_URL, sqlitePath: env.SECONDREAD_SQLITE_PATH }),
    objectStore: strip({
      url: env.OBJECT_STORE_URL,
      s3Endpoint: env.S3_ENDPOINT,
      s3Region: env.AWS_REGION,
      s3ForcePathStyle: boolFromEnv(env.S3_FORCE_PATH_STYLE),
    }),
    http: strip({
      host: env.HOST,
      port: intFromEnv('PORT', env.PORT),
      corsOrigins: env.SECONDREAD_CORS_ORIGINS?.split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    }),
    pacs: strip({
      dimse: strip({
        port: intFromEnv('SECONDREAD_DIMSE_PORT', env.SECONDREAD_DIMSE_PORT),
        aeTitle: env.SECONDREAD_DIMSE_AE,
        allow: allowFromEnv(env.SECONDREAD_DIMSE_ALLOW),
      }),
      nodes: jsonFromEnv('SECONDREAD_PACS_NODES', env.SECONDREAD_PACS_NODES),
    }),
    drift: strip({ checkIntervalSeconds: intFromEnv('SECONDREAD_DRIFT_CHECK_SECONDS', env.SECONDREAD_DRIFT_CHECK_SECONDS) }),
    workflow: strip({ model: env.SECONDREAD_WORKFLOW_MODEL, detector: env.SECONDREAD_WORKFLOW_DETECTOR }),
  });
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export interface LoadConfigOptions {
  env?: Env;
  /** Path of the YAML file; defaults to $SECONDREAD_CONFIG or ./secondread.yaml when it exists. */
  file?: string;
  /** Extra values (e.g. from CLI flags), applied last. */
  overrides?: Record<string, unknown>;
}

export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.SECONDREAD_CONFIG ?? (existsSync('secondread.yaml') ? 'secondread.yaml' : undefined);
  let fromFile: Record<string, unknown> = {};
  if (file) {
    if (!existsSync(file)) throw new ConfigError(`config file '${file}' does not exist`);
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`config file '${file}' is not valid YAML: ${(err as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw new ConfigError(`config file '${file}' must hold a mapping at the top level`);
    }
    fromFile = (parsed as Record<string, unknown>) ?? {};
  }
  const merged = deepMerge(deepMerge(fromFile, overridesFromEnv(env)), opts.overrides ?? {});
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${issues.join('; ')}`, { issues });
  }
  const c = result.data;
  const home = resolve(c.home);
  return {
    ...c,
    home,
    database: { ...c.database, sqlitePath: c.database.sqlitePath ?? resolve(home, 'secondread.db') },
    objectStore: { ...c.objectStore, url: c.objectStore.url ?? `file://${resolve(home, 'objects')}` },
  };
}
