// The real mounter held to the Mounter contract: it runs in the qemu test guest (the host kernel has
// no NFS client) against the bed's NFS server; v4 mounts go through a relay the cases can freeze.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { guestNfsHost } from '../../hack/bed/guest.ts';
import { describeMounterContract } from '../unit/mounter-contract.ts';
import { type FreezableRelay, startFreezableRelay } from './freezable-relay.ts';
import { type GuestMounter, startGuestMounter } from './guest-mounter.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
const run = Date.now().toString(36);
let relay: FreezableRelay;
let guest: GuestMounter;

beforeAll(async () => {
  const resultsDir = join(repoRoot, 'test-results');
  await mkdir(resultsDir, { recursive: true });
  relay = await startFreezableRelay(Number(inject('bed').WARREN_NFS_PORT));
  guest = await startGuestMounter({ logFile: join(resultsDir, 'real-mounter-guest-console.log') });
});
afterAll(async () => {
  await guest?.stop();
  await relay?.close();
});

async function inGuest(argv: string[]): Promise<string> {
  const result = await guest.guest.exec(argv);
  if (result.code !== 0)
    throw new Error(`${argv.join(' ')} in the guest: exit ${result.code}: ${result.stderr}`);
  return result.stdout;
}

let targets = 0;

describeMounterContract('real mounter in the guest', async () => {
  const bed = inject('bed');
  const made: string[] = [];
  const onServer: string[] = [];
  const exportPath = (dir: string) => join(bed.WARREN_EXPORT_DIR, dir);
  return {
    mounter: guest.mounter,
    makeTarget: async () => {
      const target = `/mnt/contract-${run}/t${++targets}`;
      await inGuest(['mkdir', '-p', target]);
      made.push(target);
      return target;
    },
    missingPath: () => `/mnt/contract-${run}/missing`,
    nfs: (dir, protocol) => ({
      source: `${guestNfsHost}:${bed.WARREN_NFS_SHARE}/${dir}`,
      options:
        protocol === 'v4'
          ? [`port=${relay.port}`]
          : [
              `port=${bed.WARREN_NFS_PORT}`,
              `mountport=${bed.WARREN_MOUNT_PORT}`,
              'nolock',
              'proto=tcp',
              'mountproto=tcp',
            ],
    }),
    createOnServer: async (dir) => {
      await mkdir(exportPath(dir));
      onServer.push(dir);
    },
    removeOnServer: (dir) => rm(exportPath(dir), { recursive: true }),
    replaceOnServer: async (dir) => {
      await rm(exportPath(dir), { recursive: true });
      await mkdir(exportPath(dir));
    },
    freezeServer: () => relay.freeze(),
    thawServer: () => relay.thaw(),
    timeoutMs: 30_000,
    cleanup: async () => {
      relay.thaw();
      for (const target of made) {
        for (let layer = 0; layer < 4 && (await guest.mounter.mountsAt(target)); layer++)
          await guest.mounter.unmount(target, 'lazy', 10_000);
        await inGuest(['rmdir', target]);
      }
      for (const dir of onServer) await rm(exportPath(dir), { recursive: true, force: true });
    },
  };
});
