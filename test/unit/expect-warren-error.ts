// Asserts the typed error kind and that the message names what the user has to fix.
import { expect } from 'vitest';
import { type ErrorKind, WarrenError } from '../../src/errors.ts';

function check(thrown: unknown, kind: ErrorKind, fragments: string[]): void {
  expect(thrown, 'expected a WarrenError to be thrown').toBeInstanceOf(WarrenError);
  const error = thrown as WarrenError;
  expect({ kind: error.kind, message: error.message }).toEqual({ kind, message: error.message });
  for (const fragment of fragments) expect(error.message).toContain(fragment);
}

export function expectWarrenError(run: () => unknown, kind: ErrorKind, ...fragments: string[]): void {
  let thrown: unknown;
  try {
    run();
  } catch (err) {
    thrown = err;
  }
  check(thrown, kind, fragments);
}

export async function expectWarrenRejection(
  promise: Promise<unknown>,
  kind: ErrorKind,
  ...fragments: string[]
): Promise<void> {
  let thrown: unknown;
  try {
    await promise;
  } catch (err) {
    thrown = err;
  }
  check(thrown, kind, fragments);
}
