// Named model configurations (vit-small, cnn-small, det-nano, …): one lookup for every family, so an unknown name
// reads the same everywhere and a preset handed out can never be mutated through its arrays.
import { EngineError } from '../engine/index.js';

/** A copy of preset `name` of `family` with `overrides` applied, validated by the family's own check. */
export function presetConfig<C extends object>(
  family: string,
  presets: Readonly<Record<string, C>>,
  name: string,
  overrides: Partial<C>,
  validate: (cfg: C) => void,
): C {
  const base = presets[name];
  if (!base) throw new EngineError('invalid_argument', `unknown ${family} config '${name}' (known: ${Object.keys(presets).join(', ')})`);
  const cfg: C = { ...structuredClone(base), ...overrides };
  validate(cfg);
  return cfg;
}
