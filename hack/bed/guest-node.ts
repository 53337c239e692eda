// A real Kubernetes node in the qemu guest: containerd, runc, the bridge CNI and kubelet run in the
// guest as node `guest-0` against the bed's apiserver; kube-scheduler runs on the host. The
// Warren node plugin runs in the guest too and registers with kubelet itself (--registration-dir).
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { loadAll } from 'js-yaml';
import type { BedEnv } from './bed.ts';
import { cacheDir, createDisk, diskKey, diskPlan, isKept, keepDisk } from './containerd-disk.ts';
import { type Daemon, startDaemon, stopDaemon, waitReady } from './daemon.ts';
import { bootGuest, type Guest } from './guest.ts';
import { probe } from './http-probe.ts';
import { guestNodeObjects } from './node-daemonset.ts';
import { makeClientCert } from './pki.ts';
import { freePort } from './ports.ts';

export const nodeName = 'guest-0';
export const driverName = 'nfs.warren.dev';
const repoRoot = join(import.meta.dirname, '..', '..');
const nodeBin = join(repoRoot, 'node_modules', '.bin', 'node');
const guestScript = join(repoRoot, 'hack', 'node', 'guest-node.sh');
/** Where kubelet finds the plugin's CSI socket, and where the plugin tells kubelet it is. */
export const pluginSocket = `/var/lib/kubelet/plugins/${driverName}/csi.sock`;
const pluginSelector = 'app.kubernetes.io/component=node';
/** The plugin's log in the guest, as a process or as the DaemonSet's container. */
export const pluginLogs = '/var/log/warren-node/plugin.log /var/log/pods/warren_warren-node-*/plugin/*.log';

export interface NodeTools {
  kubelet: string;
  kubeScheduler: string;
  kubectl: string;
  kubeNodeBinDir: string;
  containerdBinDir: string;
  runc: string;
  cniBinDir: string;
}

export interface NodeImages {
  /** OCI layout directories (hack/lib/oci.sh). */
  layouts: string[];
  busyboxImage: string;
  pauseImage: string;
}

export interface GuestNode {
  guest: Guest;
  kubectl(args: string[], input?: string): Promise<string>;
  /** A shell command in the guest (as root, in the node's mount namespace). */
  sh(script: string, timeoutMs?: number): Promise<{ code: number; stdout: string; stderr: string }>;
  images: NodeImages;
  /** From qemu start to the Node's Ready condition. */
  readyMs: number;
  /** How long each step up to Ready took (ms): boot, setup, import, keepDisk (first run only), kubelet. */
  phases: Record<string, number>;
  /** Whether containerd's disk came from the cache (images imported on an earlier run). */
  diskKept: boolean;
  startPlugin(): Promise<void>;
  /** process: a new process; daemonset: the plugin's pod deleted, until its successor is ready. */
  restartPlugin(): Promise<void>;
  restartKubelet(): Promise<void>;
  stop(): Promise<void>;
}

function keyValues(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** Builds (cached by version) kubelet, kube-scheduler, kubectl, containerd, runc, CNI plugins. */
export async function ensureNodeTools(): Promise<NodeTools> {
  const script = join(repoRoot, 'hack', 'tools.sh');
  await execa('bash', [script, 'node'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const paths = keyValues((await execa('bash', [script, 'paths'])).stdout);
  const need = (k: string) => {
    const v = paths[k];
    if (!v) throw new Error(`hack/tools.sh paths printed no ${k}`);
    return v;
  };
  const kubeNodeBinDir = need('KUBE_NODE_BIN_DIR');
  return {
    kubelet: join(kubeNodeBinDir, 'kubelet'),
    kubeScheduler: join(kubeNodeBinDir, 'kube-scheduler'),
    kubectl: join(kubeNodeBinDir, 'kubectl'),
    kubeNodeBinDir,
    containerdBinDir: need('CONTAINERD_BIN_DIR'),
    runc: need('RUNC_BIN'),
    cniBinDir: need('CNI_BIN_DIR'),
  };
}

/** Warren's own image (hack/node/warren-image.sh), for the DaemonSet from deploy/. */
export async function ensureWarrenImage(): Promise<{ layout: string; image: string; baseLayers: string[] }> {
  const out = keyValues(
    (await execa('bash', [join(repoRoot, 'hack', 'node', 'warren-image.sh')], { stderr: 'inherit' })).stdout,
  );
  if (!out.layout || !out.image || !out.baseLayers)
    throw new Error('hack/node/warren-image.sh printed no layout');
  return { layout: out.layout, image: out.image, baseLayers: out.baseLayers.split(',') };
}

export async function ensureNodeImages(): Promise<NodeImages> {
  const out = keyValues(
    (await execa('bash', [join(repoRoot, 'hack', 'node', 'images.sh')], { stderr: 'inherit' })).stdout,
  );
  if (!out.busybox || !out.pause || !out.busyboxImage || !out.pauseImage)
    throw new Error('hack/node/images.sh printed no image paths');
  return { layouts: [out.busybox, out.pause], busyboxImage: out.busyboxImage, pauseImage: out.pauseImage };
}

/** Pure: containerd's config (version 3): CRI with runc, cgroupfs, the local sandbox image, CNI. */
export function containerdConfig(tools: NodeTools, pauseImage: string): string {
  return `version = 3
root = "/var/lib/containerd"
state = "/run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "${pauseImage}"

[plugins.'io.containerd.cri.v1.runtime']
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "${tools.runc}"
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["${tools.cniBinDir}"]
    conf_dir = "/etc/cni/net.d"
`;
}

/** Pure: the settings hack/node/guest-node.sh reads (it sources the file). */
export function nodeEnv(tools: NodeTools, layouts: string[]): string {
  return [
    `NODE_NAME=${nodeName}`,
    `KUBE_NODE_BIN_DIR=${tools.kubeNodeBinDir}`,
    `CONTAINERD_BIN_DIR=${tools.containerdBinDir}`,
    `IMAGES="${layouts.join(' ')}"`,
    'CONTAINERD_DISK=1',
    '',
  ].join('\n');
}

/** Pure: one bridge network for the node's pods, addresses from host-local. */
export function cniConfig(): string {
  return `${JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'warren-pods',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: false,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: '10.88.0.0/24' }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
      ],
    },
    null,
    2,
  )}\n`;
}

/**
 * Pure: the KubeletConfiguration. Eviction and image GC are off (the node's disks are tmpfs in
 * guest memory); the apiserver cannot reach the kubelet (user-mode network), so its API is
 * authenticated by client cert and otherwise unused.
 */
export function kubeletConfig(caFile: string): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: false }
  x509: { clientCAFile: ${caFile} }
authorization: { mode: AlwaysAllow }
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
failSwapOn: false
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
resolvConf: ""
rotateCertificates: false
localStorageCapacityIsolation: false
evictionHard: { memory.available: "1Mi", nodefs.available: "0%", imagefs.available: "0%", nodefs.inodesFree: "0%" }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
`;
}

/** Pure: kubelet's kubeconfig, the bed's CA and the node's client certificate inline. */
export function kubeconfigFor(server: string, ca: Buffer, cert: Buffer, key: Buffer, user: string): string {
  const b64 = (b: Buffer) => b.toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: warren-bed
  cluster: { server: ${server}, certificate-authority-data: ${b64(ca)} }
users:
- name: ${user}
  user: { client-certificate-data: ${b64(cert)}, client-key-data: ${b64(key)} }
contexts:
- name: node
  context: { cluster: warren-bed, user: ${user} }
current-context: node
`;
}

// kubelet authenticates as system:node:<name> in system:nodes; this bed's apiserver authorizes by
// RBAC only (no Node authorizer), so the group gets the built-in system:node role.
export const nodeRbac = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: warren-bed-nodes }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:node }
subjects:
- { apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:nodes }
`;

/** kube-scheduler on the host, as a daemon of the bed (stopped with it). */
export async function startScheduler(bed: BedEnv, tools: NodeTools): Promise<Daemon> {
  const port = await freePort();
  const scheduler = startDaemon(
    'kube-scheduler',
    [
      tools.kubeScheduler,
      `--kubeconfig=${bed.KUBECONFIG}`,
      `--authentication-kubeconfig=${bed.KUBECONFIG}`,
      `--authorization-kubeconfig=${bed.KUBECONFIG}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      '--v=1',
    ],
    { logFile: join(bed.WARREN_BED_DIR, 'kube-scheduler.log') },
  );
  await waitReady(scheduler, () => probe(`https://127.0.0.1:${port}/healthz`, { insecure: true }), {
    timeoutMs: 60_000,
    what: 'healthy (/healthz)',
  });
  return scheduler;
}

export async function startGuestNode(
  bed: BedEnv,
  opts: {
    logFile: string;
    memoryMiB?: number;
    log?: (line: string) => void;
    /** daemonset (default): deploy/'s DaemonSet with Warren's image; process: `warren node` from the repo. */
    plugin?: 'daemonset' | 'process';
  },
): Promise<GuestNode> {
  const say = opts.log ?? ((line: string) => console.error(`[warren] ${line}`));
  const mode = opts.plugin ?? 'daemonset';
  const [tools, images, warrenImage] = await Promise.all([
    ensureNodeTools(),
    ensureNodeImages(),
    mode === 'daemonset' ? ensureWarrenImage() : undefined,
  ]);
  const kubectl = async (args: string[], input?: string) =>
    (await execa(tools.kubectl, [`--kubeconfig=${bed.KUBECONFIG}`, ...args], { input })).stdout;

  // Everything the guest reads is written before it boots (it caches the host's files it has seen).
  const dir = await mkdtemp(join(tmpdir(), 'warren-node-'));
  const pkiDir = join(bed.WARREN_BED_DIR, 'pki');
  const ca = { caCert: join(pkiDir, 'ca.crt'), caKey: join(pkiDir, 'ca.key') };
  const cert = await makeClientCert(dir, ca, 'kubelet', `/O=system:nodes/CN=system:node:${nodeName}`);
  const apiPort = Number(new URL(bed.WARREN_APISERVER).port);
  await writeFile(
    join(dir, 'kubelet.kubeconfig'),
    kubeconfigFor(
      bed.WARREN_APISERVER,
      await readFile(ca.caCert),
      await readFile(cert.cert),
      await readFile(cert.key),
      `system:node:${nodeName}`,
    ),
    { mode: 0o600 },
  );
  await writeFile(join(dir, 'kubelet.yaml'), kubeletConfig(ca.caCert));
  await writeFile(join(dir, 'containerd.toml'), containerdConfig(tools, images.pauseImage));
  await writeFile(join(dir, '10-warren.conflist'), cniConfig());
  await writeFile(
    join(dir, 'node.env'),
    nodeEnv(tools, [...images.layouts, ...(warrenImage ? [warrenImage.layout] : [])]),
  );
  await kubectl(['apply', '-f', '-'], nodeRbac);
  await kubectl(['apply', '-f', join(repoRoot, 'deploy', 'csidriver.yaml')]);

  // containerd's disk, kept by what it holds: the local images' blobs and Warren's base layers
  // (its app layer changes with every commit and is imported at each boot; it is small).
  const keyParts = [tools.containerdBinDir, ...(warrenImage?.baseLayers ?? [])];
  for (const layout of images.layouts) keyParts.push(...(await readdir(join(layout, 'blobs', 'sha256'))));
  const key = diskKey(keyParts);
  const disk = diskPlan({ cacheDir: cacheDir(), key, kept: isKept(cacheDir(), key), workDir: dir });
  await createDisk(disk);
  say(
    disk.keepAt
      ? `containerd disk: none kept for ${key} yet; importing every image, then keeping it at ${disk.keepAt}`
      : `containerd disk: kept at ${disk.file}`,
  );

  const mountPort = Number(bed.WARREN_MOUNT_PORT);
  const started = Date.now();
  const phases: Record<string, number> = {};
  let mark = started;
  const phase = (name: string) => {
    phases[name] = Date.now() - mark;
    mark = Date.now();
  };
  const guest = await bootGuest({
    disks: [{ file: disk.file, snapshot: disk.snapshot }],
    memoryMiB: opts.memoryMiB ?? 2048,
    // The agent starts Node over 9p; on a busy 2-core host under TCG that has taken over 120 s.
    readyTimeoutMs: 300_000,
    relays: [
      { listen: apiPort, port: apiPort },
      { listen: 2049, port: Number(bed.WARREN_NFS_PORT) },
      { listen: mountPort, port: mountPort },
    ],
    logFile: opts.logFile,
  });
  const sh = (script: string, timeoutMs = 60_000) =>
    guest.exec(['sh', '-c', `export NODE_DIR=${dir}\n${script}`], { timeoutMs });
  const node = async (command: string, timeoutMs = 120_000) => {
    const r = await sh(`sh ${guestScript} ${command}`, timeoutMs);
    if (r.code !== 0)
      throw new Error(`guest-node.sh ${command} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    say(r.stdout.trim());
  };
  const stop = async () => {
    await guest.stop();
    await kubectl(['delete', 'node', nodeName, '--ignore-not-found', '--wait=false']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    phase('boot');
    await node('setup');
    phase('setup');
    // A first import of Warren's image (about 220 MB) takes minutes under TCG; from a kept disk,
    // only its app layer is sent.
    await node('import', 900_000);
    phase('import');
    if (disk.keepAt) {
      await node('seal');
      await keepDisk(disk);
      await node('unseal');
      phase('keepDisk');
    }
    await node('start-kubelet');
    await waitNodeReady(kubectl, sh, 300_000);
    phase('kubelet');
  } catch (err) {
    await stop();
    throw err;
  }
  const readyMs = Date.now() - started;
  say(`node ${nodeName} Ready ${readyMs} ms after qemu started (${JSON.stringify(phases)})`);

  let pluginPid: string | undefined;
  const startPlugin = async () => {
    if (mode === 'daemonset') {
      const rendered = loadAll(await kubectl(['kustomize', join(repoRoot, 'deploy')])) as Array<
        Record<string, unknown>
      >;
      const list = { apiVersion: 'v1', kind: 'List', items: guestNodeObjects(rendered) };
      await kubectl(['apply', '-f', '-'], JSON.stringify(list));
      await waitFor(
        async () =>
          (await kubectl([
            'get',
            'pods',
            '-n',
            'warren',
            '-l',
            pluginSelector,
            '-o',
            'jsonpath={.items[*].status.containerStatuses[*].ready}',
          ])) === 'true',
        300_000,
        async () =>
          `the warren-node pod is not ready:\n${await kubectl(['describe', 'pods', '-n', 'warren', '-l', pluginSelector]).catch((e) => String(e))}`,
      );
    } else {
      const r = await sh(
        `cd ${repoRoot} && NODE_NAME=${nodeName} setsid ${nodeBin} src/cli.ts node --endpoint=unix://${pluginSocket}` +
          ` --driver-name=${driverName} --registration-dir=/var/lib/kubelet/plugins_registry --log-level=debug` +
          ' >> /var/log/warren-node/plugin.log 2>&1 < /dev/null & echo $!',
      );
      pluginPid = r.stdout.trim();
    }
    await waitFor(
      async () => {
        const out = await kubectl([
          'get',
          'csinode',
          nodeName,
          '-o',
          'jsonpath={.spec.drivers[*].name}',
        ]).catch(() => '');
        return out.split(' ').includes(driverName);
      },
      300_000,
      async () =>
        `CSINode ${nodeName} does not list ${driverName}:\n${(await sh(`tail -n 30 ${pluginLogs}`)).stdout}`,
    );
  };

  return {
    guest,
    kubectl,
    sh,
    images,
    readyMs,
    phases,
    diskKept: !disk.keepAt,
    startPlugin,
    async restartPlugin() {
      if (mode === 'daemonset') {
        const pods = () =>
          kubectl(['get', 'pods', '-n', 'warren', '-l', pluginSelector, '-o', 'json']).then(
            (out) =>
              JSON.parse(out).items as Array<{
                metadata: { uid: string };
                status: { containerStatuses?: Array<{ ready: boolean }> };
              }>,
          );
        const before = (await pods()).map((p) => p.metadata.uid);
        await kubectl(['delete', 'pods', '-n', 'warren', '-l', pluginSelector, '--wait=false']);
        await waitFor(
          async () => {
            const now = await pods();
            return (
              now.length === 1 &&
              !before.includes(now[0]?.metadata.uid ?? '') &&
              now[0]?.status.containerStatuses?.[0]?.ready === true
            );
          },
          300_000,
          async () =>
            `the warren-node pod was not replaced:\n${await kubectl(['describe', 'pods', '-n', 'warren', '-l', pluginSelector]).catch((e) => String(e))}`,
        );
      } else if (pluginPid) {
        await sh(`kill ${pluginPid}; while kill -0 ${pluginPid} 2>/dev/null; do sleep 0.2; done`);
        pluginPid = undefined;
      }
      await startPlugin();
    },
    async restartKubelet() {
      await node('stop-kubelet');
      await node('start-kubelet');
      // The Node stays Ready while kubelet is away (no node-lifecycle controller runs): ask kubelet.
      const healthy = await sh(
        'n=0; until wget -qO- http://127.0.0.1:10248/healthz; do n=$((n+1)); [ $n -lt 600 ] || exit 1; sleep 0.2; done',
        180_000,
      );
      if (healthy.code !== 0)
        throw new Error(`kubelet did not become healthy after its restart: ${healthy.stderr}`);
    },
    stop,
  };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, why: () => Promise<string>) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(await why());
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

async function waitNodeReady(
  kubectl: (args: string[]) => Promise<string>,
  sh: (s: string) => Promise<{ stdout: string }>,
  timeoutMs: number,
) {
  await waitFor(
    async () =>
      (await kubectl([
        'get',
        'node',
        nodeName,
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
      ]).catch(() => '')) === 'True',
    timeoutMs,
    async () =>
      `node ${nodeName} not Ready:\n${(await sh('tail -n 40 /var/log/warren-node/kubelet.log')).stdout}`,
  );
}

export { stopDaemon };
