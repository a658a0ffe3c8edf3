export * from './dtype.js';
export * from './serialize.js';
export * from './deserialize.js';
