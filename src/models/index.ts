// The model families by name: one place that knows every architecture, so the trainer, the CLI and the
// stored run configs dispatch on a config without knowing which family it is.
import type { ModelBuilder } from '../engine/index.js';
import type { ClassifierOptions } from './classifier.js';
import { CNN_CONFIGS, cnnClassifier, type CnnConfig, cnnConfig, isCnnConfig } from './cnn.js';
import { VIT_CONFIGS, vitClassifier, type ViTConfig, vitConfig } from './vit.js';

export type { ClassifierOptions } from './classifier.js';
export type ModelConfig = ViTConfig | CnnConfig;
export { isCnnConfig };

/** Every model preset name, ViTs first (the default family). */
export const MODEL_NAMES = [...Object.keys(VIT_CONFIGS), ...Object.keys(CNN_CONFIGS)] as [string, ...string[]];

export function isCnnName(name: string): boolean {
  return Object.hasOwn(CNN_CONFIGS, name);
}

/** The preset `name` with overrides of the fields both families share (input size, dropout, classes). */
export function modelConfig(name: string, overrides: Partial<Pick<ModelConfig, 'imageSize' | 'dropout' | 'numClasses'>> = {}): ModelConfig {
  return isCnnName(name) ? cnnConfig(name, overrides) : vitConfig(name, overrides);
}

/** The session model (images → logits, and the loss in train mode) of any model config. */
export function classifier(cfg: ModelConfig, opts: ClassifierOptions = {}): ModelBuilder {
  return isCnnConfig(cfg) ? cnnClassifier(cfg, opts) : vitClassifier(cfg, opts);
}
