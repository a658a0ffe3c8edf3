import { describe, expect, it } from 'vitest';

import { IllegalTransitionError } from './errors.js';
import { assertTransition, isLegal, STUDY_EVENTS, STUDY_STATES } from './states.js';

describe('study state machine', () => {
  it('allows exactly the documented transitions', () => {
    const legal: string[] = [];
    for (const from of STUDY_STATES) for (const e of STUDY_EVENTS) for (const to of STUDY_STATES) if (isLegal(from, e, to)) legal.push(`${from} -${e}-> ${to}`);
    expect(legal.sort()).toEqual(['awaiting_a -read_a-> auto_finalized', 'awaiting_a -read_a-> awaiting_b', 'awaiting_b -read_b-> adjudicated']);
  });

  it('throws a 409 illegal_transition for anything else', () => {
    expect(() => assertTransition('s1', 'awaiting_a', 'read_a')).not.toThrow();
    expect(() => assertTransition('s1', 'awaiting_a', 'read_a', 'awaiting_b')).not.toThrow();
    for (const [from, event, to] of [
      ['awaiting_a', 'read_b', undefined],
      ['awaiting_b', 'read_a', undefined],
      ['auto_finalized', 'read_b', undefined],
      ['adjudicated', 'read_b', undefined],
      ['awaiting_a', 'read_a', 'adjudicated'],
      ['no-such-state', 'read_a', undefined],
    ] as const) {
      let err: unknown;
      try {
        assertTransition('s1', from, event, to);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(IllegalTransitionError);
      expect(err).toMatchObject({ code: 'illegal_transition', httpStatus: 409, details: { studyId: 's1', from, event } });
    }
  });
});
