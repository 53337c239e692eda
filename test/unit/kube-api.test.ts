// The API client's wire behaviour against a plain HTTP server on 127.0.0.1: what it sends, how it
// reads answers and errors, and how it splits a watch stream into events.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError, makeKubeApi, type WatchEvent } from '../../src/kube/api.ts';
import { warrenVersion } from '../../src/version.ts';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const seen: Seen[] = [];
let handle: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void = () => {};
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => {
    body += c;
  });
  req.on('end', () => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    handle(req, res, body);
  });
});

let api: ReturnType<typeof makeKubeApi>;
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  api = makeKubeApi(
    {
      server: new URL(`http://127.0.0.1:${port}/prefix`),
      tls: { rejectUnauthorized: true },
      authorization: () => 'Bearer t0k',
    },
    { timeoutMs: 300 },
  );
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const json = (res: http.ServerResponse, code: number, value: unknown) => {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(value));
};

describe('makeKubeApi', () => {
  it('sends each verb with its path, query, body and content type, and reads the JSON answer', async () => {
    seen.length = 0;
    handle = (req, res, body) => json(res, req.method === 'POST' ? 201 : 200, { echo: body || null });
    expect(await api.get('/api/v1/x', { limit: '2', continue: 'a b' })).toStrictEqual({ echo: null });
    expect(await api.create('/api/v1/x', { a: 1 })).toStrictEqual({ echo: '{"a":1}' });
    await api.replace('/api/v1/x/n', { b: 2 });
    await api.patch('/api/v1/x/n', { c: null });
    await api.patch('/api/v1/x/n', [{ op: 'replace', path: '/count', value: 2 }], 'json');
    await api.remove('/api/v1/x/n');
    expect(seen.map((s) => [s.method, s.url, s.headers['content-type'] ?? '-', s.body || '-'])).toStrictEqual(
      [
        ['GET', '/prefix/api/v1/x?limit=2&continue=a+b', '-', '-'],
        ['POST', '/prefix/api/v1/x', 'application/json', '{"a":1}'],
        ['PUT', '/prefix/api/v1/x/n', 'application/json', '{"b":2}'],
        ['PATCH', '/prefix/api/v1/x/n', 'application/merge-patch+json', '{"c":null}'],
        [
          'PATCH',
          '/prefix/api/v1/x/n',
          'application/json-patch+json',
          '[{"op":"replace","path":"/count","value":2}]',
        ],
        ['DELETE', '/prefix/api/v1/x/n', '-', '-'],
      ],
    );
    expect(seen[0]?.headers).toMatchObject({
      accept: 'application/json',
      authorization: 'Bearer t0k',
      'user-agent': `warren/${warrenVersion}`,
    });
  });

  it('an answer other than 2xx is a KubeApiError with its code, its body and the Status message', async () => {
    handle = (_req, res) =>
      json(res, 409, { kind: 'Status', code: 409, message: 'the object has been modified' });
    const err = await api.patch('/api/v1/x/n', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({
      code: 409,
      body: '{"kind":"Status","code":409,"message":"the object has been modified"}',
      message: 'PATCH /api/v1/x/n: HTTP 409: the object has been modified',
    });
    handle = (_req, res) => {
      res.writeHead(503);
      res.end('upstream down');
    };
    await expect(api.get('/api/v1/x')).rejects.toThrow('GET /api/v1/x: HTTP 503: upstream down');
  });

  it('a 2xx answer that is not JSON, and a server that does not answer, fail the request', async () => {
    handle = (_req, res) => {
      res.writeHead(200);
      res.end('<html>');
    };
    await expect(api.get('/api/v1/x')).rejects.toThrow(/^GET \/api\/v1\/x: the answer is not JSON: /);
    handle = () => {}; // never answers
    await expect(api.get('/api/v1/slow')).rejects.toThrow(
      'GET /api/v1/slow: no answer from the API server in 300 ms',
    );
  });

  it('splits a watch stream into events however its chunks fall, and resolves ended when the server ends it', async () => {
    const lines = [
      { type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '1' } } },
      { type: 'MODIFIED', object: { metadata: { name: 'a', resourceVersion: '2' } } },
      { type: 'BOOKMARK', object: { metadata: { resourceVersion: '3' } } },
    ]
      .map((e) => `${JSON.stringify(e)}\n`)
      .join('');
    handle = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      // Cut mid-event, and two events in one chunk.
      res.write(lines.slice(0, 17));
      setTimeout(() => res.write(lines.slice(17, 140)), 20);
      setTimeout(() => res.end(lines.slice(140)), 40);
    };
    const events: WatchEvent[] = [];
    const stream = await api.watch('/api/v1/x', { resourceVersion: '0', timeoutSeconds: '60' }, (e) =>
      events.push(e),
    );
    await stream.ended;
    expect(
      events.map(
        (e) =>
          `${e.type} ${(e.object as { metadata: { resourceVersion: string } }).metadata.resourceVersion}`,
      ),
    ).toStrictEqual(['ADDED 1', 'MODIFIED 2', 'BOOKMARK 3']);
    expect(seen[seen.length - 1]?.url).toBe(
      '/prefix/api/v1/x?resourceVersion=0&timeoutSeconds=60&watch=true',
    );
  });

  it('a watch the server refuses rejects with its KubeApiError; abort() ends a stream quietly', async () => {
    handle = (_req, res) =>
      json(res, 410, { kind: 'Status', code: 410, message: 'too old resource version' });
    await expect(api.watch('/api/v1/x', {}, () => {})).rejects.toMatchObject({ code: 410 });

    handle = (_req, res) => {
      res.writeHead(200);
      res.write(`${JSON.stringify({ type: 'ADDED', object: {} })}\n`);
    };
    const events: WatchEvent[] = [];
    const stream = await api.watch('/api/v1/x', {}, (e) => events.push(e));
    await new Promise((r) => setTimeout(r, 50));
    stream.abort();
    await stream.ended;
    expect(events).toHaveLength(1);
  });

  it('a watch that gets no answer, or whose error answer is cut off, fails instead of waiting', async () => {
    handle = () => {}; // never answers
    await expect(api.watch('/api/v1/x', { timeoutSeconds: '600' }, () => {})).rejects.toThrow(
      'watch /api/v1/x: no answer from the API server in 300 ms',
    );
    handle = (_req, res) => {
      res.writeHead(503, { 'Content-Length': '1000' });
      res.write('{"kind":"Status"');
      setTimeout(() => res.destroy(), 20);
    };
    await expect(api.watch('/api/v1/x', {}, () => {})).rejects.toBeDefined();
  });

  it('a line that is not JSON fails the stream', async () => {
    handle = (_req, res) => {
      res.writeHead(200);
      res.write('not json\n');
    };
    const stream = await api.watch('/api/v1/x', {}, () => {});
    await expect(stream.ended).rejects.toThrow(SyntaxError);
  });
});
