// Loads every rule family into the gradient registry.
import './elementwise.js';
import './activation.js';
import './matmul.js';
import './reduce.js';
import './shape.js';
import './loss.js';
import './conv.js';
import './norm.js';
