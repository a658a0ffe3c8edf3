// A loopback HTTP proxy that adds S3's conditional write (`If-None-Match: *` on PutObject and
// CompleteMultipartUpload → 412 PreconditionFailed when the key exists) in front of a server that
// lacks it (s3rver). It lets the store's native conditional path — header sent, 412 mapped to
// ConflictError — run end to end. Its own check is HEAD-then-forward, so it is not race-free: tests
// through it are sequential. It also logs each request's method and query parameter names, so a
// test can see which S3 operations the store used (e.g. UploadPart = PUT partNumber&uploadId).
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ConditionalPutProxy {
  endpoint: string;
  /** How many writes arrived with `If-None-Match: *` (proves the store sent the header). */
  conditionalWrites: number;
  /** One line per request, e.g. 'PUT partNumber&uploadId' or 'GET list-type&max-keys&prefix'. */
  requests: string[];
  stop(): Promise<void>;
}

export async function startConditionalPutProxy(upstream: string): Promise<ConditionalPutProxy> {
  const target = new URL(upstream);
  const state = { conditionalWrites: 0 };
  const requests: string[] = [];

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    // The Host header is forwarded unchanged: it is part of the SigV4 signature.
    const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', (err) => res.destroy(err));
    req.pipe(up);
  };

  // s3rver serves unsigned requests, so an anonymous HEAD of the object path answers "exists?".
  const exists = (path: string): Promise<boolean> =>
    new Promise((resolve, reject) => {
      const r = request({ host: target.hostname, port: target.port, method: 'HEAD', path }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      r.on('error', reject);
      r.end();
    });

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    requests.push(`${req.method} ${[...url.searchParams.keys()].sort().join('&')}`.trim());
    const isWrite = req.method === 'PUT' || (req.method === 'POST' && url.searchParams.has('uploadId'));
    if (!isWrite || req.headers['if-none-match'] !== '*') return forward(req, res);
    state.conditionalWrites++;
    exists(url.pathname).then(
      (found) => {
        if (!found) return forward(req, res);
        req.resume();
        res.writeHead(412, { 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>',
        );
      },
      (err: Error) => res.destroy(err),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    get conditionalWrites() {
      return state.conditionalWrites;
    },
    stop: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
