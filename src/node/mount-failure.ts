// What a failed `mount -t nfs` means, from what mount.nfs said (run with LC_ALL=C), so that the
// CO gets a code it can act on: retry soon, or tell the user what to fix.
import type { ErrorKind } from '../errors.ts';

const rules: Array<[RegExp, ErrorKind]> = [
  // The export is there but the volume's directory is not: the volume does not exist.
  [/No such file or directory/i, 'NotFound'],
  // The server, or the way to it, is down or not up yet.
  [
    /Connection refused|timed out|No route to host|Network is unreachable|Program not registered|Name or service not known|Temporary failure in name resolution|Failed to resolve server/i,
    'Unavailable',
  ],
  // The server refuses this node, or does not serve what the mount options ask for.
  [
    /access denied by server|Permission denied|Protocol not supported|version or transport protocol is not supported|incorrect mount option|bad option/i,
    'FailedPrecondition',
  ],
];

export function mountFailureKind(said: string): ErrorKind {
  for (const [pattern, kind] of rules) if (pattern.test(said)) return kind;
  return 'Internal';
}
