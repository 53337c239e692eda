// hack/local.sh's engine: `up`, `down`, `status` of the bed recorded in a state directory.
import { join } from 'node:path';
import { bedDown, bedStatus, bedUp } from './bed.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
const stateDir = process.env.WARREN_STATE_DIR ?? join(repoRoot, '.local');
const command = process.argv[2];
// Exit (rather than die by the signal) so that exit handlers stop a bed that is half started.
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

try {
  switch (command) {
    case 'up': {
      const state = await bedUp(stateDir, repoRoot);
      console.log(
        `Bed is up. Use it with:\n  set -a; . ${join(stateDir, 'warren.env')}; set +a\nThen for example:\n  KUBECONFIG=${state.env.KUBECONFIG} kubectl get ns   (if you have kubectl)\n  nfs-ls "nfs://127.0.0.1${state.env.WARREN_NFS_SHARE}?version=4&nfsport=${state.env.WARREN_NFS_PORT}"\nStop it with: hack/local.sh down`,
      );
      break;
    }
    case 'down':
      await bedDown(stateDir);
      break;
    case 'status':
      console.log(await bedStatus(stateDir));
      break;
    default:
      console.error('usage: hack/local.sh up|down|status');
      process.exitCode = 2;
  }
} catch (err) {
  console.error(`[warren] error: ${(err as Error).message}`);
  process.exitCode = 1;
}
