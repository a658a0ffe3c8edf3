// An AbortSignal per request that fires when the client goes away before its answer was sent, so the
// batcher drops the request instead of computing for nobody. The response's `close` event (not the
// request's: Node closes a fully read request stream on its own) tells whether the answer went out.
import type { FastifyReply } from 'fastify';

export function clientSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const res = reply.raw;
  const onClose = () => {
    if (!res.writableFinished) controller.abort(new Error('client closed the connection before the response was sent'));
  };
  if (res.destroyed) onClose();
  else res.once('close', onClose);
  return controller.signal;
}
