import { describe, expect, it } from 'vitest';
import { quantityBytes } from '../../src/claims/quantity.ts';
import { expectWarrenError } from './expect-warren-error.ts';

describe('quantityBytes', () => {
  it.each([
    ['1Gi', 1073741824n],
    ['2Gi', 2147483648n],
    ['1.5Gi', 1610612736n],
    ['500M', 500000000n],
    ['1k', 1000n],
    ['10Ki', 10240n],
    ['1e3', 1000n],
    ['2E2', 200n],
    ['1Ei', 1152921504606846976n],
    ['100', 100n],
    ['0.5', 1n],
    ['1500m', 2n],
    ['.5Ki', 512n],
    ['+3', 3n],
    ['0', 0n],
  ])('%s is %s bytes', (quantity, bytes) => {
    expect(quantityBytes(quantity)).toBe(bytes);
  });

  it.each(['', 'Gi', '1GB', '-1Gi', '1.2.3', 'one', '1 Gi'])('refuses %j', (quantity) => {
    expectWarrenError(() => quantityBytes(quantity), 'InvalidArgument', 'is not a storage quantity');
  });
});
