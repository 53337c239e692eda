// `warren node --health-address`: /healthz for the DaemonSet's livenessProbe, answered with the
// check CSI Probe makes (in place of the livenessprobe sidecar, which called Probe on the socket).
import { createServer } from 'node:http';
import type { Readiness } from './identity-service.ts';

export interface HealthEndpoint {
  address: string;
  stop(): Promise<void>;
}

/** Pure: what /healthz answers for a readiness result (200 ok, or 503 with the reason). */
export function healthAnswer(readiness: Readiness): { status: number; body: string } {
  return readiness.ready
    ? { status: 200, body: 'ok\n' }
    : { status: 503, body: `${readiness.message ?? 'not ready'}\n` };
}

/** Listens on HOST:PORT (HOST empty: every address); any other path is 404. */
export function startHealthEndpoint(opts: {
  address: string;
  probe: () => Promise<Readiness>;
}): Promise<HealthEndpoint> {
  const server = createServer(async (req, res) => {
    if ((req.url ?? '/').split('?')[0] !== '/healthz') {
      res.statusCode = 404;
      res.end('not found\n');
      return;
    }
    const answer = healthAnswer(await opts.probe().catch((err) => ({ ready: false, message: String(err) })));
    res.statusCode = answer.status;
    res.end(answer.body);
  });
  const i = opts.address.lastIndexOf(':');
  const host = opts.address.slice(0, i).replace(/^\[|\]$/g, '') || undefined;
  const port = Number(opts.address.slice(i + 1));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address();
      resolve({
        address: typeof a === 'object' && a ? `${a.address}:${a.port}` : opts.address,
        stop: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
