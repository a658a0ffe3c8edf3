// The detector's data: box and annotation types, the letterbox mapping, reader fusion and agreement,
// annotation formats (VinDr CSV, COCO, YOLO, Label Studio).
export * from './types.js';
export * from './letterbox.js';
export * from './vindr-csv.js';
export * from './fusion.js';
export * from './agreement.js';
export * from './annotations.js';
export * from './formats/index.js';
