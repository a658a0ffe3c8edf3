// Loads every op family so their shape inference functions are registered before any node is built.
import './elementwise.js';
import './activation.js';
import './matmul.js';
import './conv.js';
import './norm.js';
import './shape.js';
import './reduce.js';
import './loss.js';
