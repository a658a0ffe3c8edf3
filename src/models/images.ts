// The image input every network of models/ reads: [B, C, S, S] with the config's channels and size (B may be
// symbolic). One check, so a wrong input fails the same way, with the same message, whichever model it reaches.
import { EngineError, type TensorRef } from '../engine/index.js';

export interface ImageInputShape {
  name: string;
  inChannels: number;
  imageSize: number;
}

/** Throws shape_mismatch unless `images` is [B, cfg.inChannels, cfg.imageSize, cfg.imageSize]. */
export function checkImageInput(images: TensorRef, cfg: ImageInputShape): void {
  const [, c, h, w] = images.shape;
  if (c !== cfg.inChannels || h !== cfg.imageSize || w !== cfg.imageSize) {
    throw new EngineError(
      'shape_mismatch',
      `${cfg.name} expects images [B, ${cfg.inChannels}, ${cfg.imageSize}, ${cfg.imageSize}], got [${images.shape.join(', ')}]`,
    );
  }
}
