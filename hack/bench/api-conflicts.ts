// How many requests the bed's apiserver answered 409 Conflict, by verb and resource, from its
// own apiserver_request_total counter (read before and after a contender, then subtracted).
import { request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export type Counts = Record<string, number>;

/** Pure: the 409 series of apiserver_request_total in a Prometheus text page, as "verb resource". */
export function conflictsIn(metrics: string): Counts {
  const counts: Counts = {};
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('apiserver_request_total{') || !line.includes('code="409"')) continue;
    const label = (key: string) => new RegExp(`[{,]${key}="([^"]*)"`).exec(line)?.[1] ?? '';
    const sub = label('subresource');
    const key = `${label('verb')} ${label('resource')}${sub ? `/${sub}` : ''}`;
    counts[key] = (counts[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return counts;
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

export async function readConflicts(kc: KubeConfig): Promise<Counts> {
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
  return conflictsIn(body);
}
