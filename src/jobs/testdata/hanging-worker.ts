// A BullMQ worker process whose 'work' jobs never finish, for the integration test that kills a worker with
// SIGKILL in the middle of a job. Usage: node --import tsx hanging-worker.ts <sqlite file> <redis url> <queue> <lock ms>
import { silentLogger } from '../../core/logger.js';
import { openDatabase } from '../../storage/db.js';
import { createBullQueue } from '../bull.js';

const [sqlitePath, redisUrl, queueName, lockMs] = process.argv.slice(2) as [string, string, string, string];
const queue = createBullQueue({ db: openDatabase({ sqlitePath }), logger: silentLogger, redisUrl, queueName, worker: true, lockDurationMs: Number(lockMs) });
queue.register('work', async (_payload, ctx) => {
  process.stdout.write(`running ${ctx.jobId}\n`);
  await new Promise(() => undefined);
});
await queue.start();
process.stdout.write('ready\n');
