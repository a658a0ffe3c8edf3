// The live figures of one arm of a canary (a model version) after its step began (strictly after: what happened at the
// instant of a transition belongs to the step before), read from the metadata DB so
// any process judges the same numbers: the workflow's studies this version read (agreement with reader A, QA
// reviews and the false clears B caught — the definitions of workflow/metrics.ts) and the serving figures the
// API processes recorded (serving-stats.ts).
import type { Db } from '../storage/db.js';
import type { ArmFigures } from './gates.js';
import { servingFigures } from './serving-stats.js';

export async function armFigures(db: Db, model: string, version: number, since: string): Promise<ArmFigures> {
  const read = () =>
    db
      .selectFrom('studies')
      .innerJoin('reads as a', (j) => j.onRef('a.study_id', '=', 'studies.id').on('a.reader', '=', 'A'))
      .where('studies.model_name', '=', model)
      .where('studies.model_version', '=', version)
      .where('studies.created_at', '>', since);
  const agreement = await read()
    .innerJoin('reads as m', (j) => j.onRef('m.study_id', '=', 'studies.id').on('m.reader', '=', 'model'))
    .select((eb) => [
      eb.fn.countAll<number>().as('n'),
      eb.fn.sum<number>(eb.case().when('a.label', '=', eb.ref('m.label')).then(eb.lit(1)).else(eb.lit(0)).end()).as('agreed'),
    ])
    .executeTakeFirst();
  const qa = await read()
    .innerJoin('reads as b', (j) => j.onRef('b.study_id', '=', 'studies.id').on('b.reader', '=', 'B'))
    .where('studies.qa', '=', 1)
    .where('studies.status', '=', 'adjudicated')
    .select((eb) => [
      eb.fn.countAll<number>().as('n'),
      eb.fn.sum<number>(eb.case().when('a.label', '<>', eb.ref('b.label')).then(eb.lit(1)).else(eb.lit(0)).end()).as('wrong'),
    ])
    .executeTakeFirst();
  const serving = await servingFigures(db, model, version, since);
  return {
    version,
    studies: Number(agreement?.n ?? 0),
    agreements: Number(agreement?.agreed ?? 0),
    qaReviews: Number(qa?.n ?? 0),
    qaFalseClears: Number(qa?.wrong ?? 0),
    ...serving,
  };
}
