// An informer over KubeApi: list (in pages), then watch from the list's resourceVersion, keeping a
// cache by namespace and name and calling back on each add, update and delete. A watch the server
// ends is opened again from the last resourceVersion seen; an expired one (410) lists again, and a
// relist calls back delete for each object that went meanwhile. Any other failure is reported
// once through 'error' and the informer stops; start() resumes it (resilient-informer.ts does).
import type {
  ErrorCallback,
  Informer,
  KubernetesObject,
  ObjectCache,
  ObjectCallback,
} from '@kubernetes/client-node';
import type { KubeApi, WatchEvent, WatchStream } from './api.ts';

export interface InformerOptions<T> {
  api: KubeApi;
  /** The collection, e.g. /api/v1/persistentvolumeclaims. */
  path: string;
  /** Applied to every object as it arrives, before the cache holds it. */
  transform?: (obj: T) => T;
  /** Objects per list page. */
  pageSize?: number;
  /** The timeoutSeconds of each watch (the server ends it then; it is opened again). */
  watchSeconds?: () => number;
}

type ObjectVerb = 'add' | 'update' | 'delete';

/** A list as the server sends it (JSON names: `continue`, not client-node's `_continue`). */
interface ListPage<T> {
  items?: T[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/** client-go's spread: each watch lasts 5 to 10 minutes, so many clients do not reconnect at once. */
const defaultWatchSeconds = () => 300 + Math.floor(Math.random() * 300);

export function makeInformer<T extends KubernetesObject>(
  opts: InformerOptions<T>,
): Informer<T> & ObjectCache<T> {
  const { api, path } = opts;
  const transform = opts.transform ?? ((o: T) => o);
  const pageSize = String(opts.pageSize ?? 500);
  const watchSeconds = opts.watchSeconds ?? defaultWatchSeconds;
  const objectCallbacks: Record<ObjectVerb, ObjectCallback<T>[]> = { add: [], update: [], delete: [] };
  const errorCallbacks: ErrorCallback[] = [];
  const connectCallbacks: ErrorCallback[] = [];
  /** The callback lists a verb of on() and off() names ('change' is add, update and delete). */
  const listsOf = (verb: string): unknown[][] => {
    if (verb === 'change') return [objectCallbacks.add, objectCallbacks.update, objectCallbacks.delete];
    if (verb === 'error') return [errorCallbacks];
    if (verb === 'connect') return [connectCallbacks];
    if (verb === 'add' || verb === 'update' || verb === 'delete') return [objectCallbacks[verb]];
    throw new Error(`unknown informer event: ${verb}`);
  };
  let objects = new Map<string, Map<string, T>>();
  let resourceVersion = '';
  let stopped = false;
  /** Bumped by start() and stop(): a loop of an older generation ends quietly. */
  let generation = 0;
  let stream: WatchStream | undefined;

  const emit = (verb: ObjectVerb, obj: T) => {
    for (const cb of [...objectCallbacks[verb]]) cb(obj);
  };
  const fail = (err: unknown) => {
    for (const cb of [...errorCallbacks]) cb(err);
  };
  const keyOf = (obj: T) => [obj.metadata?.namespace ?? '', obj.metadata?.name ?? ''] as const;

  function put(obj: T): void {
    const [ns, name] = keyOf(obj);
    let inNs = objects.get(ns);
    if (!inNs) {
      inNs = new Map();
      objects.set(ns, inNs);
    }
    const old = inNs.get(name);
    inNs.set(name, obj);
    if (!old) emit('add', obj);
    else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) emit('update', obj);
  }

  function drop(obj: T): void {
    const [ns, name] = keyOf(obj);
    const inNs = objects.get(ns);
    if (!inNs?.delete(name)) return;
    if (inNs.size === 0) objects.delete(ns);
    emit('delete', obj);
  }

  /** The whole collection, page by page; an expired continue token starts the list again. */
  async function listAll(): Promise<{ items: T[]; resourceVersion: string }> {
    for (;;) {
      const items: T[] = [];
      let token: string | undefined;
      let version = '';
      try {
        do {
          const page = await api.get<ListPage<T>>(path, {
            limit: pageSize,
            ...(token ? { continue: token } : {}),
          });
          for (const item of page.items ?? []) items.push(transform(item));
          token = page.metadata?.continue || undefined;
          version = page.metadata?.resourceVersion ?? '';
        } while (token);
        return { items, resourceVersion: version };
      } catch (err) {
        if (!(token && isGone(err))) throw err;
      }
    }
  }

  async function relist(): Promise<void> {
    const listed = await listAll();
    const seen = new Map<string, Map<string, T>>();
    for (const item of listed.items) {
      const [ns, name] = keyOf(item);
      let inNs = seen.get(ns);
      if (!inNs) {
        inNs = new Map();
        seen.set(ns, inNs);
      }
      inNs.set(name, item);
    }
    const before = objects;
    objects = new Map();
    for (const [ns, inNs] of before)
      for (const [name, obj] of inNs) {
        if (seen.get(ns)?.has(name)) objects.set(ns, (objects.get(ns) ?? new Map()).set(name, obj));
        else emit('delete', obj);
      }
    for (const item of listed.items) put(item);
    resourceVersion = listed.resourceVersion;
  }

  /** Set by an ERROR event: the stream is aborted and this is what failed (undefined for a 410). */
  let streamFailure: unknown;

  /** `abortStream` ends the watch this event came on (it may not be `stream` yet: see open()). */
  function onEvent(event: WatchEvent, abortStream: () => void): void {
    if (event.type === 'ERROR') {
      const status = event.object as { code?: number; message?: string };
      if (status.code === 410) resourceVersion = '';
      else streamFailure = new Error(`watch ${path}: ${status.message ?? JSON.stringify(status)}`);
      abortStream();
      return;
    }
    const obj = event.object as T;
    if (event.type !== 'BOOKMARK') {
      const lean = transform(obj);
      if (event.type === 'DELETED') drop(lean);
      else put(lean);
    }
    resourceVersion = obj.metadata?.resourceVersion ?? resourceVersion;
  }

  /** Opens the watch from resourceVersion (listing first when there is none, or it expired). */
  async function open(): Promise<WatchStream> {
    for (let attempt = 1; ; attempt++) {
      if (!resourceVersion) await relist();
      streamFailure = undefined;
      // Events that came with the answer's first bytes are handed over before watch() resolves.
      let opened: WatchStream | undefined;
      let abortAsked = false;
      const abortThis = () => {
        if (opened) opened.abort();
        else abortAsked = true;
      };
      try {
        opened = await api.watch(
          path,
          { resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(watchSeconds()) },
          (event) => onEvent(event, abortThis),
        );
        if (abortAsked) opened.abort();
        return opened;
      } catch (err) {
        if (!isGone(err) || attempt >= 2) throw err;
        resourceVersion = '';
      }
    }
  }

  async function follow(mine: number, first: WatchStream): Promise<void> {
    let current = first;
    for (;;) {
      try {
        await current.ended;
      } catch (err) {
        if (mine === generation && !stopped) fail(err);
        return;
      }
      if (mine !== generation || stopped) return;
      if (streamFailure) return fail(streamFailure);
      const next = await openFor(mine);
      if (!next) return;
      current = next;
    }
  }

  /** The next watch of generation `mine`; undefined if it failed (reported) or `mine` is over. */
  async function openFor(mine: number): Promise<WatchStream | undefined> {
    let next: WatchStream;
    try {
      next = await open();
    } catch (err) {
      if (mine === generation && !stopped) fail(err);
      return undefined;
    }
    if (mine !== generation || stopped) {
      next.abort();
      return undefined;
    }
    stream = next;
    return next;
  }

  return {
    on(verb: string, cb: ObjectCallback<T> | ErrorCallback) {
      for (const list of listsOf(verb)) list.push(cb);
    },
    off(verb: string, cb: ObjectCallback<T> | ErrorCallback) {
      for (const list of listsOf(verb)) {
        const at = list.indexOf(cb);
        if (at >= 0) list.splice(at, 1);
      }
    },
    async start() {
      stopped = false;
      generation += 1;
      const mine = generation;
      stream?.abort();
      for (const cb of [...connectCallbacks]) cb(undefined);
      const first = await openFor(mine);
      if (first) void follow(mine, first);
    },
    async stop() {
      stopped = true;
      generation += 1;
      stream?.abort();
      stream = undefined;
    },
    get(name: string, namespace?: string) {
      return objects.get(namespace ?? '')?.get(name);
    },
    list(namespace?: string) {
      if (namespace) return [...(objects.get(namespace)?.values() ?? [])];
      const all: T[] = [];
      for (const inNs of objects.values()) all.push(...inNs.values());
      return all;
    },
  } as Informer<T> & ObjectCache<T>;
}

function isGone(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 410;
}
