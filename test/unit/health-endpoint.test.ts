import { afterEach, describe, expect, it } from 'vitest';
import { type HealthEndpoint, healthAnswer, startHealthEndpoint } from '../../src/node/health-endpoint.ts';
import type { Readiness } from '../../src/node/identity-service.ts';

describe('healthAnswer', () => {
  it.each([
    [{ ready: true }, { status: 200, body: 'ok\n' }],
    [
      { ready: false, message: 'mount.nfs not found in /sbin' },
      { status: 503, body: 'mount.nfs not found in /sbin\n' },
    ],
    [{ ready: false }, { status: 503, body: 'not ready\n' }],
  ])('answers %j with %j', (readiness, answer) => {
    expect(healthAnswer(readiness)).toEqual(answer);
  });
});

describe('startHealthEndpoint', () => {
  let endpoint: HealthEndpoint | undefined;
  afterEach(async () => {
    await endpoint?.stop();
    endpoint = undefined;
  });

  const get = async (path: string) => {
    const res = await fetch(`http://${endpoint?.address}${path}`);
    return { status: res.status, body: await res.text() };
  };

  it('answers /healthz with the probe of the moment, and 404 elsewhere', async () => {
    let readiness: Readiness = { ready: true };
    endpoint = await startHealthEndpoint({ address: '127.0.0.1:0', probe: async () => readiness });
    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    readiness = { ready: false, message: 'mount.nfs not found' };
    expect(await get('/healthz')).toEqual({ status: 503, body: 'mount.nfs not found\n' });
    expect(await get('/metrics')).toEqual({ status: 404, body: 'not found\n' });
  });

  it('answers 503 with the error when the probe throws', async () => {
    endpoint = await startHealthEndpoint({
      address: '127.0.0.1:0',
      probe: async () => {
        throw new Error('EACCES /sbin');
      },
    });
    expect(await get('/healthz')).toEqual({ status: 503, body: 'Error: EACCES /sbin\n' });
  });

  it('refuses an address already in use', async () => {
    endpoint = await startHealthEndpoint({ address: '127.0.0.1:0', probe: async () => ({ ready: true }) });
    await expect(
      startHealthEndpoint({ address: endpoint.address, probe: async () => ({ ready: true }) }),
    ).rejects.toThrow('EADDRINUSE');
  });
});
