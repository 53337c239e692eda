// The demo's node-plugin step. Filled in once `warren node` exists (see the node plugin issue);
// until then the demo says so instead of pretending.
import type { CoreV1Api } from '@kubernetes/client-node';
import type { BedEnv } from '../bed/bed.ts';

export async function publishInGuest(opts: {
  repoRoot: string;
  core: CoreV1Api;
  claimName: string;
  env: BedEnv;
  cleanups: Array<() => Promise<void>>;
  say: (text: string) => void;
}): Promise<void> {
  console.log(
    `   (skipped: the node plugin is not wired into the demo yet; ${opts.claimName} stays unmounted)`,
  );
}
