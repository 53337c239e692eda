// hack/bed/controller.ts's command line: the bed's kubeconfig and share, defaults a caller's flag replaces.
import { expect, it } from 'vitest';
import type { BedEnv } from '../../hack/bed/bed.ts';
import { controllerArgs } from '../../hack/bed/controller.ts';

const bed = {
  KUBECONFIG: '/bed/kubeconfig',
  WARREN_NFS_SERVER: '127.0.0.1',
  WARREN_NFS_SHARE: '/export',
  WARREN_EXPORT_DIR: '/bed/export',
} as BedEnv;
const fixed = ['--kubeconfig=/bed/kubeconfig', '--share=127.0.0.1:/export=/bed/export'];
const defaults = [
  '--metrics-address=127.0.0.1:9000',
  '--leader-elect=false',
  '--resync-period=20s',
  '--log-level=debug',
];

it.each([
  { case: 'the bed only', opts: {}, args: [...fixed, ...defaults] },
  {
    case: 'a provisioner, a kubeconfig and a share directory of its own',
    opts: { provisioner: 'p.test', kubeconfig: '/sa/kubeconfig', shareDir: '/bed/export/sub' },
    args: [
      '--kubeconfig=/sa/kubeconfig',
      '--share=127.0.0.1:/export=/bed/export/sub',
      '--provisioner=p.test',
      ...defaults,
    ],
  },
  {
    case: 'flags that replace defaults, and one that adds to them',
    opts: { args: ['--log-level=warn', '--leader-elect=true', '--workers=4'] },
    args: [
      ...fixed,
      '--metrics-address=127.0.0.1:9000',
      '--resync-period=20s',
      '--log-level=warn',
      '--leader-elect=true',
      '--workers=4',
    ],
  },
])('$case', ({ opts, args }) => {
  expect(controllerArgs({ bed, logFile: '/dev/null', ...opts }, 9000)).toEqual(args);
});
