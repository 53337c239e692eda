// Unmounting that finishes even when the NFS server is dead or frozen (as measured in the guest:
// test/disruptive/node-stale-server.test.ts):
// a plain umount first (clean, flushes data); if the mount is still there, `umount -f` (aborts
// outstanding requests); if it is still there, `umount -l` (detaches it at once). Each step is
// bounded, and success is decided by re-reading the mount table, never by exit codes.
import type { Logger } from 'pino';
import { unavailable } from '../errors.ts';
import { quote } from '../text.ts';
import type { Mounter, UnmountAttempt, UnmountMode } from './mounter.ts';

export interface UnmountLimits {
  now(): number;
  /** The whole unmount, all steps and stacked mounts included. */
  budgetMs: number;
  /** One umount command. */
  stepTimeoutMs: number;
}

export const defaultUnmountLimits = { budgetMs: 20_000, stepTimeoutMs: 5_000 };

/** More mounts stacked on one target than this is not something a publish of ours produces. */
const maxStackedMounts = 4;
const escalation: UnmountMode[] = ['plain', 'force', 'lazy'];

/** Removes every mount at target; throws Unavailable if one is still there when the budget is spent. */
export async function unmountCompletely(
  mounter: Mounter,
  target: string,
  limits: UnmountLimits,
  log: Logger,
): Promise<UnmountAttempt[]> {
  const deadline = limits.now() + limits.budgetMs;
  const attempts: UnmountAttempt[] = [];
  for (let layer = 0; layer < maxStackedMounts; layer++) {
    const mounted = await mounter.mountsAt(target);
    if (!mounted) return attempts;
    let gone = false;
    for (const mode of escalation) {
      const remaining = deadline - limits.now();
      // Keep time for the lazy unmount: it is the step that always detaches.
      if (mode !== 'lazy' && remaining < 2 * limits.stepTimeoutMs) continue;
      if (remaining <= 0) break;
      const attempt = await mounter.unmount(target, mode, Math.min(limits.stepTimeoutMs, remaining));
      attempts.push(attempt);
      const now = await mounter.mountsAt(target);
      gone = now?.mountId !== mounted.mountId;
      log.info({ target, mode: attempt.mode, detail: attempt.detail, unmounted: gone }, 'umount step');
      if (gone) break;
    }
    if (!gone) {
      const tried = attempts.map((a) => `${a.mode}: ${a.detail}`).join('; ') || 'no time left to try';
      throw unavailable(`could not unmount ${quote(target)} (${mounted.source}) in time; tried ${tried}`);
    }
  }
  throw unavailable(`${quote(target)} still has mounts after removing ${maxStackedMounts} stacked ones`);
}
