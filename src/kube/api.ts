// A small JSON client for the Kubernetes API over node:https: the few verbs the controller uses,
// and watch streams. One keep-alive agent carries every request, so connections are reused.
// Measured against @kubernetes/client-node (hack/bench/client-cost.ts), which brings its whole
// generated API and undici into memory, this is what keeps the controller's resting RSS low.
import http from 'node:http';
import https from 'node:https';
import { warrenVersion } from '../version.ts';
import type { Connection } from './connection.ts';

/** An answer of the API server other than 2xx: its HTTP status and its body (a Status, as text). */
export class KubeApiError extends Error {
  readonly code: number;
  readonly body: string;
  constructor(method: string, path: string, code: number, body: string) {
    super(`${method} ${path}: HTTP ${code}: ${statusMessage(body)}`);
    this.name = 'KubeApiError';
    this.code = code;
    this.body = body;
  }
}

/** The message of a Status body, or the body itself. */
export function statusMessage(body: string): string {
  try {
    const message = (JSON.parse(body) as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON: the body says it as it is
  }
  return body.slice(0, 500);
}

export type PatchType = 'merge' | 'json';

export interface WatchEvent<T = unknown> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface WatchStream {
  /** Resolves when the server ends the stream (or abort() did); rejects on a failed request. */
  ended: Promise<void>;
  abort(): void;
}

export interface KubeApi {
  get<T>(path: string, query?: Record<string, string>): Promise<T>;
  create<T>(path: string, body: unknown): Promise<T>;
  replace<T>(path: string, body: unknown): Promise<T>;
  patch<T>(path: string, body: unknown, type?: PatchType): Promise<T>;
  remove(path: string): Promise<void>;
  /**
   * Opens a watch; resolves once the server has answered 200 (rejects with its error otherwise).
   * onEvent gets each event in order.
   */
  watch(path: string, query: Record<string, string>, onEvent: (e: WatchEvent) => void): Promise<WatchStream>;
}

const contentTypes: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
};

/** No answer for this long fails a request (a server that stopped answering, a dead connection). */
export const requestTimeoutMs = 60_000;

export function makeKubeApi(conn: Connection, opts: { timeoutMs?: number } = {}): KubeApi {
  const secure = conn.server.protocol === 'https:';
  const agent = secure
    ? new https.Agent({ keepAlive: true, ...conn.tls })
    : new http.Agent({ keepAlive: true });
  const base = conn.server.pathname.replace(/\/$/, '');
  const timeoutMs = opts.timeoutMs ?? requestTimeoutMs;
  const userAgent = `warren/${warrenVersion}`;

  function open(
    method: string,
    path: string,
    query: Record<string, string> | undefined,
    body: string | undefined,
    contentType: string | undefined,
  ): http.ClientRequest {
    const search = query && Object.keys(query).length > 0 ? `?${new URLSearchParams(query)}` : '';
    const headers: http.OutgoingHttpHeaders = { Accept: 'application/json', 'User-Agent': userAgent };
    const authorization = conn.authorization();
    if (authorization) headers.Authorization = authorization;
    if (body !== undefined) {
      headers['Content-Type'] = contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const options: https.RequestOptions = {
      agent,
      method,
      host: conn.server.hostname.replace(/^\[|\]$/g, ''),
      port: conn.server.port || (secure ? 443 : 80),
      path: `${base}${path}${search}`,
      headers,
    };
    const req = secure ? https.request(options) : http.request(options);
    if (body !== undefined) req.write(body);
    req.end();
    return req;
  }

  function send<T>(
    method: string,
    path: string,
    opts: { query?: Record<string, string>; body?: unknown; contentType?: string } = {},
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
      const req = open(method, path, opts.query, payload, opts.contentType);
      req.setTimeout(timeoutMs, () =>
        req.destroy(new Error(`${method} ${path}: no answer from the API server in ${timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        // A connection that drops mid-answer closes without an end (a settled promise ignores this).
        res.on('close', () => {
          if (!res.complete) reject(new Error(`${method} ${path}: the connection closed mid-answer`));
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 0;
          if (code < 200 || code > 299) return reject(new KubeApiError(method, path, code, text));
          try {
            resolve((text === '' ? undefined : JSON.parse(text)) as T);
          } catch (err) {
            reject(new Error(`${method} ${path}: the answer is not JSON: ${(err as Error).message}`));
          }
        });
      });
    });
  }

  function watch(
    path: string,
    query: Record<string, string>,
    onEvent: (e: WatchEvent) => void,
  ): Promise<WatchStream> {
    return new Promise<WatchStream>((resolveOpen, rejectOpen) => {
      const req = open('GET', path, { ...query, watch: 'true' }, undefined, undefined);
      // Until the server answers, a watch waits as long as any request; once open it is quiet for
      // long stretches, but never past the server's own timeoutSeconds.
      const idleMs = (Number(query.timeoutSeconds) || 600) * 1000 + timeoutMs;
      let answered = false;
      req.setTimeout(timeoutMs);
      req.on('timeout', () =>
        req.destroy(
          new Error(
            answered
              ? `watch ${path}: silent for ${idleMs} ms`
              : `watch ${path}: no answer from the API server in ${timeoutMs} ms`,
          ),
        ),
      );
      let aborted = false;
      req.on('error', (err) => {
        if (!aborted) rejectOpen(err);
      });
      req.on('response', (res) => {
        answered = true;
        req.setTimeout(idleMs);
        const code = res.statusCode ?? 0;
        if (code !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', rejectOpen);
          // 'close' also comes when the connection drops before the body ends.
          res.on('close', () =>
            rejectOpen(new KubeApiError('GET', path, code, Buffer.concat(chunks).toString('utf8'))),
          );
          return;
        }
        const ended = new Promise<void>((resolveEnd, rejectEnd) => {
          let pending = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            pending += chunk;
            let newline = pending.indexOf('\n');
            while (newline >= 0) {
              const line = pending.slice(0, newline);
              pending = pending.slice(newline + 1);
              if (line.trim() !== '' && !aborted) {
                try {
                  onEvent(JSON.parse(line) as WatchEvent);
                } catch (err) {
                  // A line that is not an event (or a handler that threw) ends this stream as failed.
                  aborted = true;
                  req.destroy();
                  rejectEnd(err);
                  return;
                }
              }
              newline = pending.indexOf('\n');
            }
          });
          res.on('end', () => resolveEnd());
          res.on('error', (err) => (aborted ? resolveEnd() : rejectEnd(err)));
          req.on('error', (err) => (aborted ? resolveEnd() : rejectEnd(err)));
          res.on('close', () => resolveEnd());
        });
        resolveOpen({
          ended,
          abort: () => {
            aborted = true;
            req.destroy();
          },
        });
      });
    });
  }

  return {
    get: (path, query) => send('GET', path, query ? { query } : {}),
    create: (path, body) => send('POST', path, { body }),
    replace: (path, body) => send('PUT', path, { body }),
    patch: (path, body, type = 'merge') => send('PATCH', path, { body, contentType: contentTypes[type] }),
    remove: async (path) => {
      await send('DELETE', path);
    },
    watch,
  };
}
