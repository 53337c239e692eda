// The informer against a scripted API: what it lists and watches, and what it calls back, for
// each way a list or a watch can end. The real API server's side is in kube-api.test.ts.
import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { type KubeApi, KubeApiError, type WatchEvent, type WatchStream } from '../../src/kube/api.ts';
import { makeInformer } from '../../src/kube/informer.ts';

type Obj = KubernetesObject & { data?: string };
const obj = (name: string, rv: string, namespace = 'ns'): Obj => ({
  metadata: { name, namespace, resourceVersion: rv },
});

interface OpenWatch {
  query: Record<string, string>;
  send(e: WatchEvent): void;
  end(): void;
  fail(err: Error): void;
  aborted: boolean;
}

/** A KubeApi whose list answers from `items` (in pages) and whose watches the test drives. */
function scriptedApi(initial: Obj[], listVersion = '10') {
  const state = { items: initial, listVersion, failList: undefined as Error | undefined };
  const calls: string[] = [];
  const watches: OpenWatch[] = [];
  let refuseWatch: Error | undefined;
  /** Events the next watch delivers with its answer, before watch() resolves. */
  let withAnswer: WatchEvent[] = [];
  const api: KubeApi = {
    async get<T>(path: string, query?: Record<string, string>) {
      calls.push(`list ${path} ${new URLSearchParams(query)}`);
      if (state.failList) throw state.failList;
      const from = Number(query?.continue ?? 0);
      const size = Number(query?.limit ?? 1e9);
      const items = state.items.slice(from, from + size);
      const more = from + size < state.items.length;
      return {
        items,
        metadata: { resourceVersion: state.listVersion, ...(more ? { continue: String(from + size) } : {}) },
      } as T;
    },
    create: () => Promise.reject(new Error('not used')),
    replace: () => Promise.reject(new Error('not used')),
    patch: () => Promise.reject(new Error('not used')),
    remove: () => Promise.reject(new Error('not used')),
    async watch(path, query, onEvent) {
      calls.push(`watch ${path} rv=${query.resourceVersion}`);
      if (refuseWatch) {
        const err = refuseWatch;
        refuseWatch = undefined;
        throw err;
      }
      let settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
      const ended = new Promise<void>((resolve, reject) => {
        settle = { resolve, reject };
      });
      const w: OpenWatch = {
        query,
        aborted: false,
        send: (e) => {
          if (!w.aborted) onEvent(e);
        },
        end: () => settle?.resolve(),
        fail: (err) => settle?.reject(err),
      };
      watches.push(w);
      for (const e of withAnswer.splice(0)) onEvent(e);
      const stream: WatchStream = {
        ended,
        abort: () => {
          w.aborted = true;
          settle?.resolve();
        },
      };
      return stream;
    },
  };
  return {
    api,
    state,
    calls,
    watches,
    refuseNextWatch(err: Error) {
      refuseWatch = err;
    },
    answerNextWatchWith(events: WatchEvent[]) {
      withAnswer = events;
    },
    last: () => watches[watches.length - 1] as OpenWatch,
  };
}

function recorded<T extends Obj>(informer: ReturnType<typeof makeInformer<T>>) {
  const seen: string[] = [];
  for (const verb of ['add', 'update', 'delete'] as const)
    informer.on(verb, (o) => seen.push(`${verb} ${o.metadata?.name}@${o.metadata?.resourceVersion}`));
  informer.on('error', (err) => seen.push(`error ${(err as Error).message}`));
  return seen;
}

const settle = () => new Promise((r) => setImmediate(r));
const names = (list: readonly Obj[]) =>
  list.map((o) => `${o.metadata?.name}@${o.metadata?.resourceVersion}`).sort();

describe('makeInformer', () => {
  it('lists in pages, watches from the list version, and keeps the cache by namespace and name', async () => {
    const s = scriptedApi([obj('a', '1'), obj('b', '2'), obj('c', '3', 'other')]);
    const informer = makeInformer<Obj>({
      api: s.api,
      path: '/api/v1/things',
      pageSize: 2,
      watchSeconds: () => 300,
      transform: (o) => ({ ...o, data: 'lean' }),
    });
    const seen = recorded(informer);
    await informer.start();
    expect(s.calls).toStrictEqual([
      'list /api/v1/things limit=2',
      'list /api/v1/things limit=2&continue=2',
      'watch /api/v1/things rv=10',
    ]);
    expect(s.last().query).toStrictEqual({
      resourceVersion: '10',
      allowWatchBookmarks: 'true',
      timeoutSeconds: '300',
    });
    expect(seen).toStrictEqual(['add a@1', 'add b@2', 'add c@3']);
    expect(informer.get('c', 'other')?.data).toBe('lean');
    expect(informer.get('c', 'ns')).toBeUndefined();
    expect(names(informer.list('ns'))).toStrictEqual(['a@1', 'b@2']);
    expect(names(informer.list())).toStrictEqual(['a@1', 'b@2', 'c@3']);

    s.last().send({ type: 'MODIFIED', object: obj('a', '11') });
    s.last().send({ type: 'MODIFIED', object: obj('a', '11') }); // the same version again: no callback
    s.last().send({ type: 'ADDED', object: obj('d', '12') });
    s.last().send({ type: 'DELETED', object: obj('b', '13') });
    s.last().send({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '14' } } });
    expect(seen.slice(3)).toStrictEqual(['update a@11', 'add d@12', 'delete b@13']);
    expect(informer.get('d', 'ns')?.data).toBe('lean');
    expect(names(informer.list('ns'))).toStrictEqual(['a@11', 'd@12']);

    // The server ends the watch (its timeoutSeconds): opened again from the last version, no list.
    s.last().end();
    await settle();
    expect(s.calls.slice(3)).toStrictEqual(['watch /api/v1/things rv=14']);
    await informer.stop();
    expect(s.last().aborted).toBe(true);
  });

  it('an expired watch (410) lists again and calls back delete for what went meanwhile', async () => {
    const s = scriptedApi([obj('a', '1'), obj('b', '2')]);
    const informer = makeInformer<Obj>({ api: s.api, path: '/p' });
    const seen = recorded(informer);
    await informer.start();
    s.state.items = [obj('a', '1'), obj('c', '20')];
    s.state.listVersion = '21';
    s.last().send({
      type: 'ERROR',
      object: { kind: 'Status', code: 410, message: 'too old resource version' },
    });
    await settle();
    expect(s.calls).toStrictEqual([
      'list /p limit=500',
      'watch /p rv=10',
      'list /p limit=500',
      'watch /p rv=21',
    ]);
    expect(seen).toStrictEqual(['add a@1', 'add b@2', 'delete b@2', 'add c@20']);
    expect(names(informer.list())).toStrictEqual(['a@1', 'c@20']);
    await informer.stop();
  });

  it('a watch refused with 410 when it opens lists again at once', async () => {
    const s = scriptedApi([obj('a', '1')]);
    const informer = makeInformer<Obj>({ api: s.api, path: '/p' });
    const seen = recorded(informer);
    s.refuseNextWatch(new KubeApiError('GET', '/p', 410, '{"message":"gone"}'));
    await informer.start();
    expect(s.calls).toStrictEqual([
      'list /p limit=500',
      'watch /p rv=10',
      'list /p limit=500',
      'watch /p rv=10',
    ]);
    expect(seen).toStrictEqual(['add a@1']);
    await informer.stop();
  });

  it('a 410 that comes with the watch answer ends that watch, not the one before, and lists again', async () => {
    const s = scriptedApi([obj('a', '1')]);
    const informer = makeInformer<Obj>({ api: s.api, path: '/p' });
    const seen = recorded(informer);
    await informer.start();
    const first = s.last();
    s.answerNextWatchWith([{ type: 'ERROR', object: { code: 410, message: 'too old resource version' } }]);
    first.end();
    await settle();
    const second = s.watches[1];
    expect(second?.aborted).toBe(true);
    await settle();
    expect(s.calls).toStrictEqual([
      'list /p limit=500',
      'watch /p rv=10',
      'watch /p rv=10',
      'list /p limit=500',
      'watch /p rv=10',
    ]);
    expect(s.watches).toHaveLength(3);
    expect(s.last().aborted).toBe(false);
    expect(seen).toStrictEqual(['add a@1']);
    await informer.stop();
  });

  it('an expired continue token starts the list again from the first page', async () => {
    const s = scriptedApi([obj('a', '1'), obj('b', '2'), obj('c', '3')]);
    const get = s.api.get;
    let expireOnce = true;
    s.api.get = async (path, query) => {
      if (query?.continue && expireOnce) {
        expireOnce = false;
        s.calls.push('continue expired');
        throw new KubeApiError('GET', path, 410, '{"message":"continue expired"}');
      }
      return get(path, query);
    };
    const informer = makeInformer<Obj>({ api: s.api, path: '/p', pageSize: 2 });
    const seen = recorded(informer);
    await informer.start();
    expect(s.calls).toStrictEqual([
      'list /p limit=2',
      'continue expired',
      'list /p limit=2',
      'list /p limit=2&continue=2',
      'watch /p rv=10',
    ]);
    expect(seen).toStrictEqual(['add a@1', 'add b@2', 'add c@3']);
    await informer.stop();
  });

  it.each<{ name: string; fail: (s: ReturnType<typeof scriptedApi>) => void; error: string }>([
    {
      name: 'an ERROR event other than 410',
      fail: (s) => s.last().send({ type: 'ERROR', object: { code: 500, message: 'etcd is sad' } }),
      error: 'error watch /p: etcd is sad',
    },
    {
      name: 'a watch stream that fails',
      fail: (s) => s.last().fail(new Error('socket hang up')),
      error: 'error socket hang up',
    },
  ])(
    '$name is reported once through error, and start() resumes from the last version',
    async ({ fail, error }) => {
      const s = scriptedApi([obj('a', '1')]);
      const informer = makeInformer<Obj>({ api: s.api, path: '/p' });
      const seen = recorded(informer);
      await informer.start();
      s.last().send({ type: 'MODIFIED', object: obj('a', '5') });
      fail(s);
      await settle();
      expect(seen).toStrictEqual(['add a@1', 'update a@5', error]);
      expect(s.calls).toStrictEqual(['list /p limit=500', 'watch /p rv=10']);
      await informer.start();
      expect(s.calls.slice(2)).toStrictEqual(['watch /p rv=5']);
      await informer.stop();
    },
  );

  it('a list that fails is reported through error and start() resolves (the caller retries)', async () => {
    const s = scriptedApi([obj('a', '1')]);
    s.state.failList = new KubeApiError('GET', '/p', 403, '{"message":"forbidden"}');
    const informer = makeInformer<Obj>({ api: s.api, path: '/p' });
    const seen = recorded(informer);
    await informer.start();
    expect(seen).toStrictEqual(['error GET /p: HTTP 403: forbidden']);
    s.state.failList = undefined;
    await informer.start();
    expect(seen.slice(1)).toStrictEqual(['add a@1']);
    expect(s.calls).toStrictEqual(['list /p limit=500', 'list /p limit=500', 'watch /p rv=10']);
    await informer.stop();
  });

  it('after stop(), a stream that ends opens nothing and reports nothing', async () => {
    const s = scriptedApi([obj('a', '1')]);
    const informer = makeInformer<Obj>({ api: s.api, path: '/p' });
    const seen = recorded(informer);
    await informer.start();
    const first = s.last();
    await informer.stop();
    first.fail(new Error('late failure'));
    await settle();
    expect(seen).toStrictEqual(['add a@1']);
    expect(s.calls).toStrictEqual(['list /p limit=500', 'watch /p rv=10']);
  });
});
