// Runs inside the qemu test guest: serves the real Mounter (src/node/real-mounter.ts) over HTTP so
// that a test on the host can drive it call by call. POST /<method> with the arguments as a JSON
// array answers {value} or {error: {kind?, message}} (kind when it is a WarrenError).
import { createServer, type IncomingMessage } from 'node:http';
import { WarrenError } from '../../src/errors.ts';
import type { Mounter } from '../../src/node/mounter.ts';
import { makeRealMounter } from '../../src/node/real-mounter.ts';

export const mounterMethods = ['mount', 'unmount', 'mountsAt', 'health'] as const;
export type MounterMethod = (typeof mounterMethods)[number];

export type MounterReply = { value: unknown } | { error: { kind?: string; message: string } };

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

async function answer(mounter: Mounter, method: string, body: string): Promise<MounterReply> {
  if (!(mounterMethods as readonly string[]).includes(method))
    return { error: { message: `no such Mounter method: ${method}` } };
  const args = JSON.parse(body) as unknown;
  if (!Array.isArray(args)) return { error: { message: 'the body must be a JSON array of arguments' } };
  try {
    const fn = mounter[method as MounterMethod] as (...a: unknown[]) => Promise<unknown>;
    return { value: (await fn(...args)) ?? null };
  } catch (err) {
    if (err instanceof WarrenError) return { error: { kind: err.kind, message: err.message } };
    return { error: { message: err instanceof Error ? err.message : String(err) } };
  }
}

if (import.meta.main) {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port <= 0) throw new Error('usage: guest-mounter-service.ts PORT');
  const mounter = makeRealMounter();
  const server = createServer((req, res) => {
    const method = (req.url ?? '').replace(/^\//, '');
    readBody(req)
      .then((body) => answer(mounter, method, body))
      .catch((err: unknown) => ({ error: { message: String(err) } }))
      .then((reply) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(reply));
      });
  });
  server.listen(port, '0.0.0.0', () => console.log(`mounter service on ${port}`));
}
