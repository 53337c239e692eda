// The node guest's configuration, built from code (hack/bed/guest-node.ts, containerd-disk.ts,
// node-up.ts): exact outputs, so a changed field shows here and not as a node that never gets Ready.
import { describe, expect, it } from 'vitest';
import { diskKey, diskPlan, disksToDrop } from '../../hack/bed/containerd-disk.ts';
import {
  cniConfig,
  containerdConfig,
  kubeconfigFor,
  kubeletConfig,
  type NodeTools,
  nodeEnv,
  nodeRbac,
} from '../../hack/bed/guest-node.ts';
import { storageClassYaml } from '../../hack/bed/node-up.ts';

const tools: NodeTools = {
  kubelet: '/c/kube-node/kubelet',
  kubeScheduler: '/c/kube-node/kube-scheduler',
  kubectl: '/c/kube-node/kubectl',
  kubeNodeBinDir: '/c/kube-node',
  containerdBinDir: '/c/containerd',
  runc: '/c/runc/runc',
  cniBinDir: '/c/cni/bin',
};

describe('node guest configuration', () => {
  it('configures containerd: CRI with runc and cgroupfs, the local sandbox image, the CNI dirs', () => {
    expect(containerdConfig(tools, 'warren.local/pause:3.10')).toBe(`version = 3
root = "/var/lib/containerd"
state = "/run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "warren.local/pause:3.10"

[plugins.'io.containerd.cri.v1.runtime']
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "/c/runc/runc"
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/c/cni/bin"]
    conf_dir = "/etc/cni/net.d"
`);
  });

  it('gives pods one bridge network with host-local addresses', () => {
    expect(JSON.parse(cniConfig())).toEqual({
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
    });
    expect(cniConfig().endsWith('}\n')).toBe(true);
  });

  it('configures kubelet: client-cert auth, cgroupfs, containerd, no eviction or image GC', () => {
    expect(kubeletConfig('/bed/pki/ca.crt')).toBe(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: false }
  x509: { clientCAFile: /bed/pki/ca.crt }
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
`);
  });

  it("writes kubelet's kubeconfig with the CA, certificate and key inline", () => {
    const b = (s: string) => Buffer.from(s);
    expect(
      kubeconfigFor('https://127.0.0.1:6443', b('CA'), b('CERT'), b('KEY'), 'system:node:guest-0'),
    ).toBe(`apiVersion: v1
kind: Config
clusters:
- name: warren-bed
  cluster: { server: https://127.0.0.1:6443, certificate-authority-data: Q0E= }
users:
- name: system:node:guest-0
  user: { client-certificate-data: Q0VSVA==, client-key-data: S0VZ }
contexts:
- name: node
  context: { cluster: warren-bed, user: system:node:guest-0 }
current-context: node
`);
  });

  it('binds system:nodes to the built-in system:node role (the bed has no Node authorizer)', () => {
    expect(nodeRbac).toBe(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: warren-bed-nodes }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:node }
subjects:
- { apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:nodes }
`);
  });

  it('hands guest-node.sh its settings', () => {
    expect(nodeEnv(tools, ['/i/busybox', '/i/pause', '/i/warren'])).toBe(
      'NODE_NAME=guest-0\nKUBE_NODE_BIN_DIR=/c/kube-node\nCONTAINERD_BIN_DIR=/c/containerd\nIMAGES="/i/busybox /i/pause /i/warren"\nCONTAINERD_DISK=1\n',
    );
  });

  it('names the StorageClass people use on the local node', () => {
    expect(storageClassYaml('/srv/export')).toBe(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: warren }
provisioner: nfs.warren.dev
parameters: { server: 127.0.0.1, share: /srv/export }
mountOptions: [vers=4.1]
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
`);
  });
});

describe('containerd disk', () => {
  it('keys a disk by what it holds, in any order', () => {
    expect(diskKey(['/c/containerd', 'aaa', 'bbb'])).toBe(diskKey(['bbb', '/c/containerd', 'aaa']));
    expect(diskKey(['/c/containerd', 'aaa'])).not.toBe(diskKey(['/c/containerd', 'aab']));
    expect(diskKey(['x'])).toMatch(/^[0-9a-f]{12}$/);
  });

  it.each([
    [true, { file: '/cache/node-containerd-k1/disk.img', snapshot: true }],
    [false, { file: '/work/containerd.img', snapshot: false, keepAt: '/cache/node-containerd-k1' }],
  ])('kept=%s: %j', (kept, plan) => {
    expect(diskPlan({ cacheDir: '/cache', key: 'k1', kept, workDir: '/work' })).toEqual(plan);
  });

  it('drops the kept disks beyond the newest two', () => {
    const disk = (name: string, mtimeMs: number) => ({ name, mtimeMs });
    expect(disksToDrop([disk('a', 1), disk('b', 3), disk('c', 2), disk('d', 4)], 2)).toEqual(['c', 'a']);
    expect(disksToDrop([disk('a', 1), disk('b', 2)], 2)).toEqual([]);
  });
});
