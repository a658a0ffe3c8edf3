export { type Checkpoint, CHECKPOINT_FORMAT, decodeCheckpoint, encodeCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
export { type SafetensorsContent, type SafetensorsDType, type StoredTensor, decodeSafetensors, encodeSafetensors } from './safetensors.js';
export { writeFileAtomic } from './atomic-write.js';
