// `warren controller` flags.
import { defaultProvisionerName } from '../provisioning/names.ts';
import { parseShareFlag } from '../provisioning/paths.ts';
import {
  boolean,
  duration,
  type FlagSpec,
  integer,
  listenAddress,
  logLevelFlag,
  one,
  text,
} from './flags.ts';

export const controllerFlags = {
  provisioner: {
    name: 'provisioner',
    env: 'WARREN_PROVISIONER',
    defaultText: defaultProvisionerName,
    help: 'Provisioner and CSI driver name; StorageClasses name it in `provisioner`.',
    parse: one(text, defaultProvisionerName),
  },
  kubeconfig: {
    name: 'kubeconfig',
    env: 'KUBECONFIG',
    help: 'Path to a kubeconfig; without it, the in-cluster service account is used.',
    parse: (v: string[]) => v[0],
  },
  shares: {
    name: 'share',
    env: 'WARREN_SHARES',
    repeatable: true,
    help: 'SERVER:PATH=LOCALDIR: the NFS export SERVER:PATH is mounted at LOCALDIR in this pod. A StorageClass share under PATH maps to the matching subdirectory. Repeat for several exports (comma-separated in the environment variable).',
    parse: (values: string[]) => {
      if (values.length === 0)
        throw new Error('at least one is required, e.g. --share=nfs.example.com:/export=/exports/main');
      return values.map(parseShareFlag);
    },
  },
  workers: {
    name: 'workers',
    env: 'WARREN_WORKERS',
    defaultText: '16',
    help: 'Claims and volumes reconciled in parallel (one at a time per object).',
    parse: one(integer(1, 256), 16),
  },
  copyWorkers: {
    name: 'copy-workers',
    env: 'WARREN_COPY_WORKERS',
    defaultText: '2',
    help: 'Clone copies run at once, in a lane of their own (a long copy never holds a --workers slot).',
    parse: one(integer(1, 64), 2),
  },
  resync: {
    name: 'resync-period',
    env: 'WARREN_RESYNC_PERIOD',
    defaultText: '5m',
    help: 'How often every claim and volume is reconciled again, whatever the watches said. At least 1s.',
    parse: one(duration(1000), 300_000),
  },
  leaderElect: {
    name: 'leader-elect',
    env: 'WARREN_LEADER_ELECT',
    defaultText: 'true',
    help: 'Run leader election so that only one replica provisions.',
    parse: one(boolean, true),
  },
  leaseNamespace: {
    name: 'leader-election-namespace',
    env: 'WARREN_LEADER_ELECTION_NAMESPACE',
    defaultText: 'the pod namespace, else default',
    help: 'Namespace of the coordination.k8s.io Lease.',
    parse: (v: string[]) => v[0] ?? process.env.POD_NAMESPACE ?? 'default',
  },
  leaseName: {
    name: 'leader-election-lease-name',
    env: 'WARREN_LEADER_ELECTION_LEASE_NAME',
    defaultText: 'warren-controller',
    help: 'Name of the Lease.',
    parse: one(text, 'warren-controller'),
  },
  leaseDuration: {
    name: 'leader-election-lease-duration',
    env: 'WARREN_LEADER_ELECTION_LEASE_DURATION',
    defaultText: '15s',
    help: 'How long a standby waits after the last renewal before taking over. At least 1s.',
    parse: one(duration(1000), 15_000),
  },
  metricsAddress: {
    name: 'metrics-address',
    env: 'WARREN_METRICS_ADDRESS',
    defaultText: ':8080',
    help: 'Where /metrics, /healthz and /readyz are served.',
    parse: one(listenAddress, ':8080'),
  },
  logLevel: logLevelFlag('One of debug, info, warn, error.'),
} satisfies Record<string, FlagSpec<unknown>>;
