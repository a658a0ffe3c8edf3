// The route pick on its own (deployments.ts): a pure function of the alias table, the options and the study.
import { describe, expect, it } from 'vitest';

import { canaryBucket, pickRoute } from './deployments.js';

const off = { canaryWeight: 0, shadow: false };

describe('pickRoute', () => {
  it('follows a named alias, or says which alias is not set', () => {
    expect(pickRoute('cxr', { production: 1, staging: 4 }, 'staging', 's', off)).toEqual({ follows: ['staging'], target: { route: 'alias', version: 4 } });
    expect(pickRoute('cxr', { production: 1 }, 'canary', 's', off)).toEqual({ follows: ['canary'], missing: 'canary' });
    expect(pickRoute('cxr', {}, undefined, 's', { canaryWeight: 0.5, shadow: true })).toEqual({ follows: ['production'], missing: 'production' });
  });

  it('is production alone when neither canary nor shadow is on, and when the canary is unset or the same version', () => {
    expect(pickRoute('cxr', { production: 1, canary: 2 }, undefined, 's', off)).toEqual({
      follows: ['production'],
      target: { route: 'production', version: 1 },
    });
    for (const current of [{ production: 1 }, { production: 1, canary: 1 }])
      expect(pickRoute('cxr', current, undefined, 's', { canaryWeight: 1, shadow: false })).toEqual({
        follows: ['production', 'canary'],
        target: { route: 'production', version: 1 },
      });
  });

  it('splits by the study bucket, and names the canary as shadow for the production side', () => {
    const studies = Array.from({ length: 50 }, (_, i) => `st${i}`);
    for (const s of studies) {
      const r = pickRoute('cxr', { production: 1, canary: 2 }, undefined, s, { canaryWeight: 0.3, shadow: true });
      expect(r).toEqual({
        follows: ['production', 'canary'],
        target: canaryBucket('cxr', s) < 0.3 ? { route: 'canary', version: 2 } : { route: 'production', version: 1, shadowVersion: 2 },
      });
    }
    expect(pickRoute('cxr', { production: 1, canary: 2 }, undefined, 's', { canaryWeight: 0, shadow: true })).toMatchObject({
      target: { route: 'production', version: 1, shadowVersion: 2 },
    });
  });
});
