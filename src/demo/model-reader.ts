// The model read of a study at intake, for the demo bootstrap's studies: the registered model version behind
// the `production` alias, loaded as `serve` loads it, its prediction mapped to the workflow's ModelRead.
import type { LoadedModel, ModelRegistry } from '../tracking/index.js';
import type { ModelRead, ModelReader } from '../workflow/service.js';

export interface ClosableModelReader extends ModelReader {
  close(): Promise<void>;
}

export function modelReaderOf(model: LoadedModel): ModelReader {
  return {
    async read(image: Uint8Array): Promise<ModelRead> {
      const p = await model.predict(image);
      return { model: model.name, version: model.version, predictions: p.classes, top: p.top, route: 'production' };
    },
  };
}

/** Loads `name@production` (cached under `cacheDir`, as serve does) and reads with it until closed. */
export async function openProductionReader(registry: ModelRegistry, name: string, cacheDir: string): Promise<ClosableModelReader> {
  const model = await registry.loadForInference(name, { alias: 'production' }, { cacheDir });
  return { ...modelReaderOf(model), close: () => model.close() };
}
