// Size limits every image decoder applies before it allocates pixels.

/** Larger images are refused before decoding (a 40 000² PNG would need gigabytes). */
export const MAX_IMAGE_PIXELS = 8192 * 8192;
