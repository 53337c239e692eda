// A real, throwaway Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager and
// the snapshot-controller (with the VolumeSnapshot CRDs) on 127.0.0.1, each a daemon with its own log.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Daemon, startDaemon, waitReady } from './daemon.ts';
import { probe } from './http-probe.ts';
import { makePki } from './pki.ts';
import { freePorts } from './ports.ts';
import { installSnapshotCrds, startSnapshotController } from './snapshot-controller.ts';
import type { ToolPaths } from './tools.ts';

export interface ControlPlane {
  kubeconfig: string;
  apiserverUrl: string;
  daemons: Daemon[];
  readyMs: { etcd: number; apiserver: number; controllerManager: number; snapshotController: number };
}

/**
 * The controllers our tests rely on: PV/PVC binding and the protection finalizers; for real pods
 * on the node guest also workloads (StatefulSet, DaemonSet, Deployment, ReplicaSet), their garbage
 * collection, generic ephemeral volumes, and what every pod needs (the default ServiceAccount
 * and the kube-root-ca.crt ConfigMap its token volume projects).
 */
export const controllers = [
  'persistentvolume-binder-controller',
  'persistentvolume-protection-controller',
  'persistentvolumeclaim-protection-controller',
  'namespace-controller',
  // Expansion: for a CSI volume it only says an external controller expands it (warren controller).
  'persistentvolume-expander-controller',
  'statefulset-controller',
  'daemonset-controller',
  'node-lifecycle-controller',
  'deployment-controller',
  'replicaset-controller',
  'garbage-collector-controller',
  'ephemeral-volume-controller',
  'serviceaccount-controller',
  'root-ca-certificate-publisher-controller',
];

/** The apiserver's audit log (JSON lines) in a bed's runtime directory (WARREN_BED_DIR). */
export const auditLogPath = (bedDir: string) => join(bedDir, 'audit.log');

const auditPolicyYaml = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts"]
  - level: None
`;

export async function startControlPlane(
  dir: string,
  tools: ToolPaths,
  started: Daemon[],
): Promise<ControlPlane> {
  const pkiDir = join(dir, 'pki');
  await mkdir(pkiDir, { recursive: true });
  const pki = await makePki(pkiDir);
  const [etcdPort, peerPort, apiPort, kcmPort, snapshotPort] = (await freePorts(5)) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const apiserverUrl = `https://127.0.0.1:${apiPort}`;

  const etcd = startDaemon(
    'etcd',
    [
      tools.etcd,
      '--name=bed',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=bed=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    { logFile: join(dir, 'etcd.log') },
  );
  started.push(etcd);
  const etcdMs = await waitReady(etcd, () => probe(`http://127.0.0.1:${etcdPort}/health`), {
    timeoutMs: 30_000,
    what: 'healthy',
  });

  // Requests made with a ServiceAccount's token are audited (metadata only): the RBAC test reads
  // which verbs on which resources the controller really used. Nothing else is logged.
  const auditPolicy = join(dir, 'audit-policy.yaml');
  await writeFile(auditPolicy, auditPolicyYaml);
  const apiserver = startDaemon(
    'kube-apiserver',
    [
      tools.kubeApiserver,
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--authorization-mode=RBAC',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--endpoint-reconciler-type=none',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      `--audit-policy-file=${auditPolicy}`,
      `--audit-log-path=${auditLogPath(dir)}`,
      '--allow-privileged=true',
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      '--v=1',
    ],
    { logFile: join(dir, 'kube-apiserver.log') },
  );
  started.push(apiserver);
  const admin = {
    ca: await readFile(pki.caCert),
    cert: await readFile(pki.adminCert),
    key: await readFile(pki.adminKey),
  };
  const apiMs = await waitReady(apiserver, () => probe(`${apiserverUrl}/readyz`, admin), {
    timeoutMs: 90_000,
    what: 'ready (/readyz)',
  });

  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigYaml(apiserverUrl, admin), { mode: 0o600 });

  const kcm = startDaemon(
    'kube-controller-manager',
    [
      tools.kubeControllerManager,
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      `--controllers=${controllers.join(',')}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      '--v=1',
    ],
    { logFile: join(dir, 'kube-controller-manager.log') },
  );
  started.push(kcm);
  // The snapshot API comes up while kube-controller-manager starts: neither waits for the other.
  const [kcmMs, snapshots] = await Promise.all([
    waitReady(kcm, () => probe(`https://127.0.0.1:${kcmPort}/healthz`, { insecure: true }), {
      timeoutMs: 60_000,
      what: 'healthy (/healthz)',
    }),
    installSnapshotCrds(kubeconfig, tools.snapshotCrdDir).then(() =>
      startSnapshotController({
        binary: tools.snapshotController,
        kubeconfig,
        port: snapshotPort,
        dir,
        started,
      }),
    ),
  ]);

  return {
    kubeconfig,
    apiserverUrl,
    daemons: [etcd, apiserver, kcm, snapshots.daemon],
    readyMs: {
      etcd: etcdMs,
      apiserver: apiMs,
      controllerManager: kcmMs,
      snapshotController: snapshots.readyMs,
    },
  };
}

function kubeconfigYaml(server: string, creds: { ca: Buffer; cert: Buffer; key: Buffer }): string {
  const b64 = (b: Buffer) => b.toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: warren-bed
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(creds.ca)}
users:
- name: warren-admin
  user:
    client-certificate-data: ${b64(creds.cert)}
    client-key-data: ${b64(creds.key)}
contexts:
- name: warren-bed
  context: { cluster: warren-bed, user: warren-admin, namespace: default }
current-context: warren-bed
`;
}
