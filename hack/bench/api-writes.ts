// The writes the bed's apiserver served (from every client), by verb, resource and answer code,
// from its own apiserver_request_total counter (read before and after a contender, subtracted).
import { request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export type Counts = Record<string, number>;

const writeVerbs = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Pure: the write series of apiserver_request_total in a Prometheus page, as "VERB resource CODE". */
export function writesIn(metrics: string): Counts {
  const counts: Counts = {};
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const label = (key: string) => new RegExp(`[{,]${key}="([^"]*)"`).exec(line)?.[1] ?? '';
    if (!writeVerbs.has(label('verb'))) continue;
    const sub = label('subresource');
    const key = `${label('verb')} ${label('resource')}${sub ? `/${sub}` : ''} ${label('code')}`;
    counts[key] = (counts[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return counts;
}

/** Pure: the 409 answers among writes, as "VERB resource". */
export function conflictsOf(writes: Counts): Counts {
  const out: Counts = {};
  for (const [key, n] of Object.entries(writes)) {
    if (key.endsWith(' 409')) out[key.slice(0, -4)] = n;
  }
  return out;
}

/** Pure: writes by "VERB resource", every answer code summed. */
export function byRequest(writes: Counts): Counts {
  const out: Counts = {};
  for (const [key, n] of Object.entries(writes)) {
    const request = key.slice(0, key.lastIndexOf(' '));
    out[request] = (out[request] ?? 0) + n;
  }
  return out;
}

/** Pure: after minus before, keeping only what grew. */
export function difference(after: Counts, before: Counts): Counts {
  const out: Counts = {};
  for (const [key, n] of Object.entries(after)) {
    const grown = n - (before[key] ?? 0);
    if (grown > 0) out[key] = grown;
  }
  return out;
}

export async function readWrites(kc: KubeConfig): Promise<Counts> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('bench: the kubeconfig names no cluster');
  const url = new URL('/metrics', server);
  const options: Parameters<typeof request>[1] = { method: 'GET' };
  await kc.applyToHTTPSOptions(options);
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(url, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(text) : reject(new Error(`GET /metrics: ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
  return writesIn(body);
}
