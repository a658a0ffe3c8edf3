// Test fixture for fs-object-store.test.ts: puts an endless slow stream under argv[3] in the store at
// argv[2], so the parent can SIGKILL this process in the middle of a write.
import { Readable } from 'node:stream';

import { FsObjectStore } from '../fs-object-store.js';

const [root, key] = process.argv.slice(2);
if (!root || !key) throw new Error('usage: slow-put-child.ts <root> <key>');
const body = new Readable({
  read() {
    setTimeout(() => this.push(Buffer.alloc(64 * 1024, 0x5a)), 5);
  },
});
await new FsObjectStore(root).put(key, body);
