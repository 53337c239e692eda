// A process that takes one snapshot on a real directory and prints `copying` once the copy has
// begun (so a test can kill it mid-copy): `node snapshot-child.ts ROOT NAME SUBDIR`.
import { createFsDirectoryBackend } from '../../src/provisioning/fs-directory-backend.ts';
import { takeSnapshot } from '../../src/provisioning/snapshots.ts';
import { createFsTreeCopier } from '../../src/provisioning/tree-copy.ts';
import { encodeVolumeId } from '../../src/provisioning/volume-id.ts';

const [root = '', name = '', subDir = ''] = process.argv.slice(2);
const location = { server: '127.0.0.1', share: '/export', subDir };
const engine = createFsTreeCopier();
let told = false;
await takeSnapshot(
  {
    store: {
      shares: [{ server: '127.0.0.1', share: '/export', localDir: root }],
      backend: createFsDirectoryBackend(),
    },
    copier: {
      copy: (source, target, onBytes, options) =>
        engine.copy(
          source,
          target,
          (bytes) => {
            if (!told) process.stdout.write('copying\n');
            told = true;
            onBytes?.(bytes);
          },
          options,
        ),
    },
  },
  { name, source: { volumeId: encodeVolumeId(location, 'delete'), location } },
);
process.stdout.write('done\n');
