// Warren's API client and informer against the bed's real apiserver: the verbs, the error codes
// the controller decides on (404, 409), and an informer that lists in pages and then follows a watch.
import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { poll } from '../../hack/lib/poll.ts';
import { KubeApiError } from '../../src/kube/api.ts';
import { makeInformer } from '../../src/kube/informer.ts';
import { bedApi, bedClients, freshNamespace } from './kube.ts';

type ConfigMap = KubernetesObject & { data?: Record<string, string> };
const api = bedApi();
const { core } = bedClients();

describe('makeKubeApi on the real apiserver', () => {
  it('creates, reads, patches (merge and JSON), replaces and deletes; 409 on a stale resourceVersion, 404 once gone', async () => {
    const ns = await freshNamespace(core, 'kube-api');
    const collection = `/api/v1/namespaces/${ns}/configmaps`;
    const one = `${collection}/one`;
    const created = await api.create<ConfigMap>(collection, { metadata: { name: 'one' }, data: { a: '1' } });
    expect(created.data).toStrictEqual({ a: '1' });
    const staleVersion = created.metadata?.resourceVersion;

    const merged = await api.patch<ConfigMap>(one, {
      metadata: { resourceVersion: staleVersion },
      data: { b: '2' },
    });
    expect(merged.data).toStrictEqual({ a: '1', b: '2' });
    const conflict = await api
      .patch(one, { metadata: { resourceVersion: staleVersion }, data: { c: '3' } })
      .catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(KubeApiError);
    expect(conflict).toMatchObject({ code: 409 });
    expect((conflict as Error).message).toMatch(
      /^PATCH .*\/configmaps\/one: HTTP 409: .*the object has been modified/,
    );

    const patched = await api.patch<ConfigMap>(one, [{ op: 'replace', path: '/data/a', value: 'x' }], 'json');
    expect(patched.data).toStrictEqual({ a: 'x', b: '2' });
    const replaced = await api.replace<ConfigMap>(one, { ...patched, data: { only: 'this' } });
    expect(replaced.data).toStrictEqual({ only: 'this' });
    expect((await api.get<ConfigMap>(one)).data).toStrictEqual({ only: 'this' });

    await api.remove(one);
    await poll(
      () =>
        api.get(one).then(
          () => false,
          (e: unknown) => e instanceof KubeApiError && e.code === 404,
        ),
      (gone) => gone,
      { what: 'the ConfigMap to be gone' },
    );
    await expect(api.get(one)).rejects.toMatchObject({ code: 404 });
    await expect(api.remove(one)).rejects.toMatchObject({ code: 404 });
  });

  it('an informer lists in pages, then follows adds, updates and deletes through its watch', async () => {
    const ns = await freshNamespace(core, 'kube-informer');
    const collection = `/api/v1/namespaces/${ns}/configmaps`;
    for (const name of ['a', 'b', 'c', 'd', 'e']) await api.create(collection, { metadata: { name } });
    const informer = makeInformer<ConfigMap>({ api, path: collection, pageSize: 2 });
    const seen: string[] = [];
    for (const verb of ['add', 'update', 'delete'] as const)
      informer.on(verb, (o) => {
        if (o.metadata?.name !== 'kube-root-ca.crt') seen.push(`${verb} ${o.metadata?.name}`);
      });
    informer.on('error', (err) => seen.push(`error ${(err as Error).message}`));
    await informer.start();
    try {
      expect([...seen].sort()).toStrictEqual(['add a', 'add b', 'add c', 'add d', 'add e']);
      seen.length = 0;
      await api.patch(`${collection}/a`, { data: { k: 'v' } });
      await api.create(collection, { metadata: { name: 'f' } });
      await api.remove(`${collection}/b`);
      await poll(
        () => seen.length,
        (n) => n >= 3,
        { what: 'the watch to deliver the three changes' },
      );
      expect(seen).toStrictEqual(['update a', 'add f', 'delete b']);
      expect(informer.get('a', ns)?.data).toStrictEqual({ k: 'v' });
      expect(informer.get('b', ns)).toBeUndefined();
      expect(
        informer
          .list(ns)
          .map((o) => o.metadata?.name)
          .filter((n) => n !== 'kube-root-ca.crt')
          .sort(),
      ).toStrictEqual(['a', 'c', 'd', 'e', 'f']);
    } finally {
      await informer.stop();
    }
  });
});
