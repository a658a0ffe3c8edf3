import { describe, expect, it } from 'vitest';

import { NoWorkflowModelError } from '../api/serving-model-reader.js';
import { resolveWorkflowModel } from './server.js';

const registry = (models: { name: string; production?: number }[]) => ({
  listModels: async () =>
    models.map((m) => ({ name: m.name, latestVersion: 1, createdAt: '', aliases: m.production === undefined ? {} : { production: m.production } })),
});
const reader = (answer: string | Error) => ({ productionModel: async () => (answer instanceof Error ? Promise.reject(answer) : answer) });

describe('resolveWorkflowModel', () => {
  it('takes the model asked for when it has a production alias, and says why not otherwise', async () => {
    const reg = registry([{ name: 'cxr', production: 2 }, { name: 'oct' }]);
    expect(await resolveWorkflowModel(reg, reader('unused'), 'cxr')).toEqual({ model: 'cxr', problem: null });
    expect(await resolveWorkflowModel(reg, reader('unused'), 'oct')).toEqual({
      model: null,
      problem: "model 'oct' has no production alias: no model read any study",
    });
    expect(await resolveWorkflowModel(reg, reader('unused'), 'x')).toEqual({ model: null, problem: "model 'x' is not registered: no model read any study" });
  });

  it("without one, the serving reader's choice, or its reason for having none", async () => {
    const reg = registry([]);
    expect(await resolveWorkflowModel(reg, reader('cxr'), undefined)).toEqual({ model: 'cxr', problem: null });
    expect(await resolveWorkflowModel(reg, reader(new NoWorkflowModelError('several models have a production alias (a, b)')), undefined)).toEqual({
      model: null,
      problem: 'several models have a production alias (a, b)',
    });
  });
});
