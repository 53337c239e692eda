// `warren node` flags: the CSI plugin on every node (Identity + Node), optionally also serving the
// CSI Controller service over the same socket (for csi-sanity and external-provisioner setups).
import { invalidArgument } from '../errors.ts';
import { defaultProvisionerName } from '../provisioning/names.ts';
import { parseShareFlag } from '../provisioning/paths.ts';
import {
  boolean,
  duration,
  type FlagSpec,
  listenAddress,
  logLevelFlag,
  one,
  type Parsed,
  text,
} from './flags.ts';

export const defaultCsiEndpoint = 'unix:///csi/csi.sock';

export const nodeFlags = {
  endpoint: {
    name: 'endpoint',
    env: 'CSI_ENDPOINT',
    defaultText: defaultCsiEndpoint,
    help: 'Where to serve CSI: unix:///absolute/path.sock, or tcp://127.0.0.1:PORT (tcp://0.0.0.0:PORT inside a test VM).',
    parse: one(text, defaultCsiEndpoint),
  },
  nodeId: {
    name: 'node-id',
    env: 'NODE_NAME',
    defaultText: '$NODE_NAME',
    help: "This node's id as reported by NodeGetInfo; normally the Kubernetes node name from the downward API.",
    parse: (values: string[]) => {
      const value = values[0];
      if (value === undefined || value.trim() === '') {
        throw new Error('is required; set NODE_NAME from spec.nodeName (downward API) or pass --node-id');
      }
      return value;
    },
  },
  driverName: {
    name: 'driver-name',
    env: 'WARREN_DRIVER_NAME',
    defaultText: defaultProvisionerName,
    help: 'CSI driver name (GetPluginInfo); must equal the CSIDriver object and the provisioner name.',
    parse: one(text, defaultProvisionerName),
  },
  controller: {
    name: 'controller',
    env: 'WARREN_CSI_CONTROLLER',
    defaultText: 'false',
    help: 'Also serve the CSI Controller service (CreateVolume, DeleteVolume, expansion); needs --share.',
    parse: one(boolean, false),
  },
  shares: {
    name: 'share',
    env: 'WARREN_SHARES',
    repeatable: true,
    help: 'SERVER:PATH=LOCALDIR, as for `warren controller`: where an NFS export is mounted in this container. Only used with --controller.',
    parse: (values: string[]) => values.map(parseShareFlag),
  },
  mountTimeout: {
    name: 'mount-timeout',
    env: 'WARREN_MOUNT_TIMEOUT',
    defaultText: '30s',
    help: 'How long one mount may take before NodePublishVolume gives up (UNAVAILABLE) and the CO retries. At least 1s.',
    parse: one(duration(1000), 30_000),
  },
  registrationDir: {
    name: 'registration-dir',
    env: 'WARREN_REGISTRATION_DIR',
    help: "Register with kubelet directly (in place of the node-driver-registrar sidecar): serve kubelet's plugin registration API on DIR/<driver-name>-reg.sock. DIR is kubelet's plugins_registry directory as mounted here.",
    parse: (values: string[]) => optionalAbsolutePath(values[0]),
  },
  kubeletRegistrationPath: {
    name: 'kubelet-registration-path',
    env: 'WARREN_KUBELET_REGISTRATION_PATH',
    defaultText: 'the --endpoint socket path',
    help: 'With --registration-dir: the CSI socket as kubelet sees it on the node, e.g. /var/lib/kubelet/plugins/<driver-name>/csi.sock.',
    parse: (values: string[]) => optionalAbsolutePath(values[0]),
  },
  healthAddress: {
    name: 'health-address',
    env: 'WARREN_HEALTH_ADDRESS',
    defaultText: 'off',
    help: "HOST:PORT for /healthz (kubelet's livenessProbe, in place of the livenessprobe sidecar): 200 when the plugin would answer CSI Probe ready, 503 with the reason otherwise.",
    parse: (values: string[]) =>
      values[0] === undefined || values[0] === '' ? undefined : listenAddress(values[0]),
  },
  logLevel: logLevelFlag(
    'One of debug, info, warn, error. debug logs every request and response (secrets redacted).',
  ),
} satisfies Record<string, FlagSpec<unknown>>;

export type NodeConfig = Parsed<typeof nodeFlags>;

function optionalAbsolutePath(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!value.startsWith('/')) throw new Error(`must be an absolute path, got "${value}"`);
  return value;
}

/** Cross-flag rules the table cannot express. */
export function checkNodeConfig(config: NodeConfig): NodeConfig {
  if (config.controller && config.shares.length === 0) {
    throw invalidArgument(
      '--controller needs at least one --share SERVER:PATH=LOCALDIR (the export mounted in this container)',
    );
  }
  if (config.kubeletRegistrationPath && !config.registrationDir) {
    throw invalidArgument('--kubelet-registration-path only has a use with --registration-dir');
  }
  if (config.registrationDir && !config.kubeletRegistrationPath && !config.endpoint.startsWith('unix://')) {
    throw invalidArgument(
      '--registration-dir with a tcp --endpoint needs --kubelet-registration-path (kubelet only dials unix sockets)',
    );
  }
  return config;
}

/** The CSI socket path kubelet is told about: the flag, else the endpoint's own path. */
export function kubeletEndpointOf(config: NodeConfig): string {
  return config.kubeletRegistrationPath ?? config.endpoint.slice('unix://'.length);
}
