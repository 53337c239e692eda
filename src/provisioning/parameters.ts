// StorageClass parameters -> ClassParameters. Every mistake is reported with the key and value to fix.
import { invalidArgument } from '../errors.ts';
import { maxId, quote } from '../text.ts';
import { defaultSubDirTemplate } from './names.ts';
import { checkServer, normaliseShare } from './paths.ts';
import { checkTemplate } from './template.ts';
import type { ClassParameters, OnDelete } from './types.ts';

export const knownKeys = ['server', 'share', 'subDir', 'onDelete', 'mode', 'uid', 'gid'] as const;
type Key = (typeof knownKeys)[number];
const onDeleteValues: readonly OnDelete[] = ['delete', 'retain', 'archive'];
const maxMode = 0o7777;
const defaultMode = 0o777;

/** Maps keys to canonical spelling regardless of case; unknown keys and case-only duplicates are errors. */
function canonicalKeys(params: Record<string, string>): Partial<Record<Key, { key: string; value: string }>> {
  const found: Partial<Record<Key, { key: string; value: string }>> = {};
  for (const [key, value] of Object.entries(params)) {
    const known = knownKeys.find((candidate) => candidate.toLowerCase() === key.toLowerCase());
    if (!known) {
      throw invalidArgument(
        `unknown StorageClass parameter ${quote(key)}; known parameters: ${knownKeys.join(', ')} (names are case-insensitive)`,
      );
    }
    const earlier = found[known];
    if (earlier) {
      throw invalidArgument(
        `StorageClass parameters ${quote(earlier.key)} and ${quote(key)} are the same parameter (names are case-insensitive); keep one`,
      );
    }
    found[known] = { key, value };
  }
  return found;
}

function parseOnDelete(key: string, value: string): OnDelete {
  const match = onDeleteValues.find((candidate) => candidate === value.toLowerCase());
  if (!match) {
    throw invalidArgument(
      `StorageClass parameter ${key}=${quote(value)} is not valid; use one of ${onDeleteValues.join(', ')}`,
    );
  }
  return match;
}

function parseMode(key: string, value: string): number {
  if (!/^[0-7]{1,5}$/.test(value)) {
    throw invalidArgument(
      `StorageClass parameter ${key}=${quote(value)} is not an octal mode; write octal digits such as 0770 or 2775`,
    );
  }
  const mode = Number.parseInt(value, 8);
  if (mode > maxMode) {
    throw invalidArgument(`StorageClass parameter ${key}=${quote(value)} is above the largest mode 07777`);
  }
  return mode;
}

function parseId(key: string, value: string): number {
  // Leading zeros are refused: "0770" as a uid is more likely a mode typed into the wrong parameter.
  if (!/^(0|[1-9][0-9]{0,9})$/.test(value) || Number(value) > maxId) {
    throw invalidArgument(
      `StorageClass parameter ${key}=${quote(value)} is not valid; use a decimal number from 0 to ${maxId} without leading zeros`,
    );
  }
  return Number(value);
}

export function parseClassParameters(params: Record<string, string> | undefined): ClassParameters {
  const found = canonicalKeys(params ?? {});
  const { server, share, subDir, onDelete, mode, uid, gid } = found;
  if (!server || !share) {
    const missing = server
      ? 'parameter share is'
      : share
        ? 'parameter server is'
        : 'parameters server and share are';
    throw invalidArgument(
      `StorageClass ${missing} missing; set server (the NFS server) and share (the exported path)`,
    );
  }
  const parsed: ClassParameters = {
    server: checkServer(server.value, `StorageClass parameter ${server.key}`),
    share: normaliseShare(share.value, `StorageClass parameter ${share.key}`),
    subDir: subDir ? checkTemplateParameter(subDir.key, subDir.value) : defaultSubDirTemplate,
    onDelete: onDelete ? parseOnDelete(onDelete.key, onDelete.value) : 'delete',
    mode: mode ? parseMode(mode.key, mode.value) : defaultMode,
  };
  if (uid) parsed.uid = parseId(uid.key, uid.value);
  if (gid) parsed.gid = parseId(gid.key, gid.value);
  return parsed;
}

function checkTemplateParameter(key: string, value: string): string {
  if (value === '') {
    throw invalidArgument(`StorageClass parameter ${key} is empty; remove it to use the default template`);
  }
  return checkTemplate(value);
}
