// /metrics, /healthz (the process answers) and /readyz (caches synced, or a healthy standby).
import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics.ts';

export function startHealthServer(opts: {
  address: string;
  metrics: Metrics;
  ready: () => { ok: boolean; detail: string };
}): Promise<Server> {
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      res.setHeader('Content-Type', opts.metrics.registry.contentType);
      res.end(await opts.metrics.registry.metrics());
    } else if (path === '/healthz') {
      res.end('ok\n');
    } else if (path === '/readyz') {
      const r = opts.ready();
      res.statusCode = r.ok ? 200 : 503;
      res.end(`${r.detail}\n`);
    } else {
      res.statusCode = 404;
      res.end('not found\n');
    }
  });
  const { host, port } = splitAddress(opts.address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

export function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port: Number(address.slice(i + 1)) };
}
