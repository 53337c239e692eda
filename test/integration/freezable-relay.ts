// A TCP relay on 127.0.0.1 to another local port that can be frozen: while frozen it passes no
// bytes either way and leaves every connection open, as a server that has stopped answering.
import { connect, createServer, type Socket } from 'node:net';

export interface FreezableRelay {
  port: number;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function startFreezableRelay(targetPort: number): Promise<FreezableRelay> {
  let frozen = false;
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((inbound) => {
    const outbound = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    const close = () => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', close).on('close', close);
    outbound.on('error', close).on('close', close);
    // No pipe(): it would resume a paused socket on its own. A test relay needs no backpressure.
    inbound.on('data', (chunk) => outbound.write(chunk));
    outbound.on('data', (chunk) => inbound.write(chunk));
    if (frozen) for (const s of pair) s.pause();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the relay has no TCP address');
  return {
    port: address.port,
    freeze() {
      frozen = true;
      for (const pair of pairs) for (const s of pair) s.pause();
    },
    thaw() {
      frozen = false;
      for (const pair of pairs) for (const s of pair) s.resume();
    },
    close: async () => {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
