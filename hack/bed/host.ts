// The host's commands and processes as the bed finds them: where a command is, which processes
// of a name live, and installing missing Debian packages.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

/**
 * Where a command is: on PATH, or in the sbin directories that a non-login environment (CI's
 * among them) may leave off PATH, where rpcbind and ip live.
 */
export function commandPath(name: string): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? '').split(':').filter(Boolean),
    '/usr/local/sbin',
    '/usr/sbin',
    '/sbin',
  ];
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p));
}

export function requiredCommand(name: string): string {
  const path = commandPath(name);
  if (!path) throw new Error(`${name} is not installed (looked on PATH and in the sbin directories)`);
  return path;
}

/** Installs `packages` (through hack/lib/apt-install.sh) when one of `commands` is missing. */
export async function ensureCommands(commands: string[], packages: string[]): Promise<void> {
  const missing = commands.filter((c) => !commandPath(c));
  if (missing.length === 0) return;
  console.error(`[warren] installing ${packages.join(' ')} (missing: ${missing.join(', ')})`);
  await execa('bash', [join(import.meta.dirname, '..', 'lib', 'apt-install.sh'), ...packages], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** PIDs of processes named `name`, leaving out zombies (a stopped process not reaped yet). */
export async function livingProcesses(name: string): Promise<number[]> {
  const { stdout } = await execa('pgrep', ['-x', name], { reject: false });
  return stdout
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
      } catch {
        return false;
      }
    });
}
