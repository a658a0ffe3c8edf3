// Configuration: defaults < optional secondread.yaml < environment variables, validated with zod so a
// typo fails at startup with the offending key named, not later with an undefined.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import { ConfigError } from './errors.js';

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
