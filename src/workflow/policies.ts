// Policies as stored objects: versioned per model name + version (a policy is only meaningful for the
// model whose probabilities it thresholds), immutable once written; the newest version is in force.
import { type Clock, systemClock } from '../core/clock.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Db } from '../storage/db.js';
import type { PoliciesTable } from '../storage/schema.js';
import { assertModelName, assertVersion } from '../tracking/names.js';
import { type PolicyRule, validatePolicyRule } from './policy.js';

/** Tries to take the next policy version before giving up (each lost try means another creator won one). */
const MAX_CREATE_ATTEMPTS = 8;

export interface Policy extends PolicyRule {
  id: string;
  modelName: string;
  modelVersion: number;
  version: number;
  createdBy: string;
  createdAt: string;
  report: unknown;
}

export interface NewPolicy {
  modelName: string;
  modelVersion: number;
  rule: { thresholds: Record<string, number>; alwaysDoubleRead?: string[]; qaFraction?: number };
  /** Who created it (user name, or `policy-fit`). */
  by: string;
  /** How it was chosen (sweep figures), stored as JSON. */
  report?: unknown;
}

export class PolicyStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Stores the next version of the policy for this model version; it is in force from now on. */
  async create(p: NewPolicy): Promise<Policy> {
    const modelName = assertModelName(p.modelName);
    const modelVersion = assertVersion(p.modelVersion);
    const rule = validatePolicyRule(p.rule);
    const createdAt = this.clock.now().toISOString();
    // (model, version, policy version) is unique: of two concurrent creators that picked the same next
    // version, one insert fails; it finds the version taken and tries the next one.
    for (let attempt = 1; ; attempt++) {
      const last = await this.db
        .selectFrom('policies')
        .select((eb) => eb.fn.max('version').as('v'))
        .where('model_name', '=', modelName)
        .where('model_version', '=', modelVersion)
        .executeTakeFirst();
      const row: PoliciesTable = {
        id: newId('pol_'),
        model_name: modelName,
        model_version: modelVersion,
        version: Number(last?.v ?? 0) + 1,
        thresholds_json: JSON.stringify(rule.thresholds),
        always_double_read_json: JSON.stringify(rule.alwaysDoubleRead),
        qa_fraction: rule.qaFraction,
        created_by: p.by,
        created_at: createdAt,
        report_json: p.report === undefined ? null : JSON.stringify(p.report),
      };
      try {
        await this.db.insertInto('policies').values(row).execute();
        return toPolicy(row);
      } catch (err) {
        const taken = await this.db
          .selectFrom('policies')
          .select('id')
          .where('model_name', '=', modelName)
          .where('model_version', '=', modelVersion)
          .where('version', '=', row.version)
          .executeTakeFirst();
        if (!taken) throw err;
        if (attempt >= MAX_CREATE_ATTEMPTS)
          throw new ConflictError(`policy versions of ${modelName}@${modelVersion} are being created too fast; retry`, { modelName, modelVersion });
      }
    }
  }

  /** The policy in force for a model version (its newest), or null when it has none. */
  async inForce(modelName: string, modelVersion: number, db: Pick<Db, 'selectFrom'> = this.db): Promise<Policy | null> {
    const row = await db
      .selectFrom('policies')
      .selectAll()
      .where('model_name', '=', modelName)
      .where('model_version', '=', modelVersion)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toPolicy(row) : null;
  }

  async get(id: string): Promise<Policy> {
    const row = await this.db.selectFrom('policies').selectAll().where('id', '=', String(id)).executeTakeFirst();
    if (!row) throw new NotFoundError('policy', String(id).slice(0, 80));
    return toPolicy(row);
  }

  /** Every policy, newest first; optionally of one model name. */
  async list(modelName?: string): Promise<Policy[]> {
    let q = this.db.selectFrom('policies').selectAll();
    if (modelName !== undefined) q = q.where('model_name', '=', assertModelName(modelName));
    return (await q.orderBy('model_name').orderBy('model_version', 'desc').orderBy('version', 'desc').execute()).map(toPolicy);
  }
}

export function toPolicy(r: PoliciesTable): Policy {
  return {
    id: r.id,
    modelName: r.model_name,
    modelVersion: r.model_version,
    version: r.version,
    thresholds: JSON.parse(r.thresholds_json) as Record<string, number>,
    alwaysDoubleRead: JSON.parse(r.always_double_read_json) as string[],
    qaFraction: r.qa_fraction,
    createdBy: r.created_by,
    createdAt: r.created_at,
    report: r.report_json === null ? null : (JSON.parse(r.report_json) as unknown),
  };
}
