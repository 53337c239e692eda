import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { shareDispatchers } from '../../src/claims/kube-config.ts';

function config(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'bed', server, skipTLSVerify: true }],
    users: [{ name: 'admin', token: 'secret' }],
    contexts: [{ name: 'bed', cluster: 'bed', user: 'admin' }],
    currentContext: 'bed',
  });
  return kc;
}

/** The dispatcher a request made through this config would use. */
async function dispatcherOf(kc: KubeConfig): Promise<unknown> {
  const { RequestContext, HttpMethod } = await import('@kubernetes/client-node');
  const context = new RequestContext('https://127.0.0.1:6443/api', HttpMethod.GET);
  await kc.applySecurityAuthentication(context);
  return (context as unknown as { getDispatcher(): unknown }).getDispatcher();
}

describe('shareDispatchers', () => {
  it('gives every request of one cluster the same agent (the library alone makes one per request)', async () => {
    const plain = config('https://127.0.0.1:6443');
    const [a, b] = [await dispatcherOf(plain), await dispatcherOf(plain)];
    expect(a).toBeDefined();
    expect(a).not.toBe(b);

    const shared = config('https://127.0.0.1:6443');
    shareDispatchers(shared);
    const first = await dispatcherOf(shared);
    expect(first).toBeDefined();
    expect(await dispatcherOf(shared)).toBe(first);
  });
});
