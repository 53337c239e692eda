// Pure: a Kubernetes resource quantity ("1Gi", "500M", "1.5Gi", "2e9") as whole bytes, rounded up.
import { invalidArgument } from '../errors.ts';

const binary: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const decimal: Record<string, number> = { '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18, m: -3, u: -6, n: -9 };

const shape = /^([+-]?)(\d*)(?:\.(\d*))?(?:(Ki|Mi|Gi|Ti|Pi|Ei|[kMGTPEmun])|[eE]([+-]?\d+))?$/;

/** Bytes in `quantity`, rounded up to a whole byte; InvalidArgument naming it when it is not one. */
export function quantityBytes(quantity: string): bigint {
  const m = shape.exec(quantity.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '') || m[1] === '-') {
    throw invalidArgument(`${JSON.stringify(quantity)} is not a storage quantity (e.g. 1Gi, 500M)`);
  }
  const [, , whole = '', fraction = '', suffix, exponent] = m;
  // value = digits * 10^-fraction.length * multiplier, in exact integer arithmetic.
  let numerator = BigInt(`${whole}${fraction}` || '0');
  let denominator = 10n ** BigInt(fraction.length);
  if (suffix && suffix in binary) numerator *= binary[suffix] as bigint;
  else {
    const power = exponent !== undefined ? Number(exponent) : (decimal[suffix ?? ''] as number);
    if (power >= 0) numerator *= 10n ** BigInt(power);
    else denominator *= 10n ** BigInt(-power);
  }
  return (numerator + denominator - 1n) / denominator;
}
