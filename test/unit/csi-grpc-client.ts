// Test helpers: the CSI clients (hack/lib/csi-client.ts) and exact gRPC status assertions.
import type { ServiceError } from '@grpc/grpc-js';
import { expect } from 'vitest';

export { type CsiClients, call, csiClients } from '../../hack/lib/csi-client.ts';

/** Asserts the exact gRPC status (and, if given, a message fragment) of a failed call. */
export async function expectStatus(
  promise: Promise<unknown>,
  code: number,
  fragment?: string,
): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: ServiceError) => e,
  );
  expect(err, 'expected the call to fail').toBeDefined();
  expect({ code: err?.code, details: err?.details }).toEqual({
    code,
    details: fragment === undefined ? err?.details : expect.stringContaining(fragment),
  });
}
