// Pure checks of the fields of Node requests; each failure is InvalidArgument naming the field.

import { invalidArgument } from '../errors.ts';
import { maxVolumeIdBytes } from '../provisioning/volume-id.ts';
import { byteLength, hasControlCharacter, quote } from '../text.ts';

export const maxPathBytes = 4096;
export const maxAttributes = 64;
export const maxAttributeKeyBytes = 256;
export const maxAttributeValueBytes = 4096;
export const maxAttributesBytes = 16 * 1024;

/** A present, non-empty string field or an InvalidArgument naming it. */
function requiredString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw invalidArgument(`${field} is required`);
  return value;
}

export function checkVolumeId(value: unknown): string {
  const id = requiredString(value, 'volume_id');
  if (byteLength(id) > maxVolumeIdBytes) {
    throw invalidArgument(`volume_id ${quote(id)} is longer than ${maxVolumeIdBytes} bytes`);
  }
  if (hasControlCharacter(id))
    throw invalidArgument(`volume_id ${quote(id)} contains NUL or other control characters`);
  return id;
}

/** An absolute path on this node without `.`/`..` segments; returned with `//` and a trailing `/` removed. */
export function checkNodePath(value: unknown, field: string): string {
  const path = requiredString(value, field);
  const fail = (why: string) => invalidArgument(`${field} ${quote(path)} ${why}`);
  if (byteLength(path) > maxPathBytes) throw fail(`is longer than ${maxPathBytes} bytes`);
  if (!path.startsWith('/')) throw fail('must be an absolute path');
  if (hasControlCharacter(path)) throw fail('must not contain NUL or other control characters');
  const segments = path.split('/').filter((segment) => segment !== '');
  const climbing = segments.find((segment) => segment === '.' || segment === '..');
  if (climbing) throw fail(`must not contain a ${quote(climbing)} segment`);
  if (segments.length === 0) throw fail('is the root directory');
  return `/${segments.join('/')}`;
}

/** Bounds the size of volume_context as a whole; the keys Warren reads are checked where they are used. */
export function checkAttributeSizes(context: Record<string, string>, field: string): void {
  const entries = Object.entries(context);
  if (entries.length > maxAttributes)
    throw invalidArgument(`${field} has ${entries.length} entries; at most ${maxAttributes}`);
  let total = 0;
  for (const [key, value] of entries) {
    if (typeof value !== 'string') throw invalidArgument(`${field}[${quote(key)}] is not a string`);
    if (byteLength(key) > maxAttributeKeyBytes)
      throw invalidArgument(`${field} key ${quote(key)} is longer than ${maxAttributeKeyBytes} bytes`);
    if (byteLength(value) > maxAttributeValueBytes) {
      throw invalidArgument(`${field}[${quote(key)}] is longer than ${maxAttributeValueBytes} bytes`);
    }
    total += byteLength(key) + byteLength(value);
  }
  if (total > maxAttributesBytes)
    throw invalidArgument(`${field} is ${total} bytes in all; at most ${maxAttributesBytes}`);
}
