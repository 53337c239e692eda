// hack/local.sh's engine: `up [--node]`, `down`, `status` of the bed recorded in a state directory.
import { join } from 'node:path';
import { bedDown, bedStatus, bedUp } from './bed.ts';
import { nodeUp } from './node-up.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
const stateDir = process.env.WARREN_STATE_DIR ?? join(repoRoot, '.local');
const command = process.argv[2];
// Exit (rather than die by the signal) so that exit handlers stop a bed that is half started.
const exitOnInt = () => process.exit(130);
const exitOnTerm = () => process.exit(143);
process.on('SIGINT', exitOnInt);
process.on('SIGTERM', exitOnTerm);

try {
  switch (command) {
    case 'up': {
      if (process.argv[3] === '--node') {
        // From here on a signal stops the node guest in order (see nodeUp).
        process.off('SIGINT', exitOnInt);
        process.off('SIGTERM', exitOnTerm);
        await nodeUp(stateDir, repoRoot);
        break;
      }
      if (process.argv[3] !== undefined)
        throw new Error(`unknown option ${process.argv[3]} (up takes --node)`);
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
      console.error('usage: hack/local.sh up [--node]|down|status');
      process.exitCode = 2;
  }
} catch (err) {
  console.error(`[warren] error: ${(err as Error).message}`);
  process.exitCode = 1;
}
