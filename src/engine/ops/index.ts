// Functional op helpers: each emits standard ONNX nodes (default domain) on a Graph.
export * from './elementwise.js';
export * from './activation.js';
export * from './matmul.js';
export * from './conv.js';
export * from './norm.js';
export * from './shape.js';
export * from './reduce.js';
export * from './loss.js';
