// Annotation formats people already use: COCO JSON, YOLO text labels, Label Studio tasks.
export * from './coco.js';
export * from './yolo.js';
export * from './label-studio.js';
export * from './bounds.js';
