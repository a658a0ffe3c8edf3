export * from './gradcheck.js';
export * from './ort.js';
