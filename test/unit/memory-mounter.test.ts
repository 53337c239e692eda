// The in-memory mounter held to the Mounter contract (the real one runs it in the test guest).
import { makeMemoryMounter } from '../fakes/memory-mounter.ts';
import { describeMounterContract } from './mounter-contract.ts';

const server = 'nfs.example';

describeMounterContract('memory mounter', async () => {
  const directories = new Set<string>();
  const mounter = makeMemoryMounter({ directoryExists: (path) => directories.has(path) });
  const onServer = (dir: string) => `${server}:/export/${dir}`;
  let targets = 0;
  return {
    mounter,
    makeTarget: async () => {
      const target = `/mnt/contract/t${++targets}`;
      directories.add(target);
      return target;
    },
    missingPath: () => '/mnt/contract/missing',
    // The fake takes the same source for every protocol and needs no connection options.
    nfs: (dir) => ({ source: onServer(dir), options: [] }),
    createOnServer: async (dir) => mounter.createOnServer(onServer(dir)),
    removeOnServer: async (dir) => mounter.removeOnServer(onServer(dir)),
    replaceOnServer: async (dir) => {
      mounter.removeOnServer(onServer(dir));
      mounter.createOnServer(onServer(dir));
    },
    freezeServer: () => mounter.hangingServer(server, { forceUnmountWorks: true }),
    thawServer: () => mounter.serverAnswers(server),
    timeoutMs: 15_000,
    cleanup: async () => {},
  };
});
