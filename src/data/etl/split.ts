// Deterministic, patient-grouped, class-stratified splitting.
//
// 1. Group images by patient key across ALL sources (an OCT patient whose scans sit in two archives,
//    or under both train/ and test/ of one archive, is one group); an image without a patient key is
//    its own group.
// 2. A group's class is its majority class (ties: the first in SECONDREAD_CLASSES order); groups are
//    stratified by it.
// 3. Within a class, groups are ordered by sha256(seed:groupKey) — a seeded shuffle in which a group's
//    place does not depend on the others — and cut at the cumulative image share: a group goes to the
//    split its midpoint falls into, so each class comes out close to train:val:test by image count.
// 4. final_eval: within each class and each of val and test, the same cut over a second seeded order
//    flags `finalEvalFraction` of the groups (by images). It is a flag on val/test images, so the
//    7:2:1 split stays as configured and final_eval can never touch train.
import { createHash } from 'node:crypto';

import { SECONDREAD_CLASSES, type SecondreadClass } from '../classes.js';
import type { Split } from '../datasets/types.js';
import type { SplitRatios } from './config.js';

export interface SplitInput {
  sha256: string;
  class: SecondreadClass;
  patientKey: string | null;
}

export interface SplitAssignment {
  split: Split;
  finalEval: boolean;
}

interface Group {
  key: string;
  members: SplitInput[];
  class: SecondreadClass;
}

export function groupKeyOf(item: SplitInput): string {
  return item.patientKey ?? `image:${item.sha256}`;
}

function majorityClass(members: SplitInput[]): SecondreadClass {
  const counts = new Map<SecondreadClass, number>();
  for (const m of members) counts.set(m.class, (counts.get(m.class) ?? 0) + 1);
  let best: SecondreadClass = members[0]!.class;
  for (const c of SECONDREAD_CLASSES) if ((counts.get(c) ?? 0) > (counts.get(best) ?? 0)) best = c;
  return best;
}

function seededOrder(groups: Group[], seed: number, salt: string): Group[] {
  const rank = (g: Group) => createHash('sha256').update(`${seed}:${salt}:${g.key}`).digest('hex');
  return groups
    .map((g) => ({ g, r: rank(g) }))
    .sort((a, b) => (a.r < b.r ? -1 : a.r > b.r ? 1 : 0))
    .map((x) => x.g);
}

/** Index of the first cut (cumulative fractions, ascending) above each group's midpoint. */
function cutByMidpoint(groups: Group[], cuts: number[]): number[] {
  const total = groups.reduce((n, g) => n + g.members.length, 0);
  let cum = 0;
  return groups.map((g) => {
    const mid = (cum + g.members.length / 2) / total;
    cum += g.members.length;
    const i = cuts.findIndex((c) => mid < c);
    return i < 0 ? cuts.length : i;
  });
}

export function assignSplits(items: readonly SplitInput[], ratios: SplitRatios, seed: number): Map<string, SplitAssignment> {
  const groups = new Map<string, Group>();
  for (const item of items) {
    const key = groupKeyOf(item);
    const g = groups.get(key) ?? { key, members: [], class: item.class };
    g.members.push(item);
    groups.set(key, g);
  }
  for (const g of groups.values()) g.class = majorityClass(g.members);

  const out = new Map<string, SplitAssignment>();
  const splitOf = new Map<string, Split>();
  const order: Split[] = ['train', 'val', 'test'];
  for (const cls of SECONDREAD_CLASSES) {
    const stratum = seededOrder(
      [...groups.values()].filter((g) => g.class === cls),
      seed,
      'split',
    );
    if (stratum.length === 0) continue;
    const idx = cutByMidpoint(stratum, [ratios.train, ratios.train + ratios.val]);
    stratum.forEach((g, i) => splitOf.set(g.key, order[idx[i]!]!));
    for (const split of order) {
      const inSplit = stratum.filter((g) => splitOf.get(g.key) === split);
      if (split === 'train' || inSplit.length === 0) {
        for (const g of inSplit) for (const m of g.members) out.set(m.sha256, { split, finalEval: false });
        continue;
      }
      const ordered = seededOrder(inSplit, seed, `final:${split}`);
      const flagged = cutByMidpoint(ordered, [ratios.finalEvalFraction]);
      ordered.forEach((g, i) => {
        for (const m of g.members) out.set(m.sha256, { split, finalEval: flagged[i] === 0 });
      });
    }
  }
  return out;
}
