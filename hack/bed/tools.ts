// Where the Go-built tools live, building them first (cached by version) via hack/tools.sh.

import { join } from 'node:path';
import { execa } from 'execa';

export interface ToolPaths {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  csiSanity: string;
  /** The snapshot-controller binary and the directory of the VolumeSnapshot CRDs next to it. */
  snapshotController: string;
  snapshotCrdDir: string;
}

export async function ensureTools(repoRoot: string): Promise<ToolPaths> {
  const script = join(repoRoot, 'hack', 'tools.sh');
  await execa('bash', [script, 'all'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const { stdout } = await execa('bash', [script, 'paths']);
  const paths = Object.fromEntries(stdout.split('\n').map((line) => line.split('=', 2) as [string, string]));
  const kubeDir = paths.KUBE_BIN_DIR;
  const snapshotDir = paths.SNAPSHOT_CONTROLLER_DIR;
  if (!kubeDir || !paths.ETCD_BIN || !paths.CSI_SANITY_BIN || !snapshotDir)
    throw new Error(`hack/tools.sh paths printed:\n${stdout}`);
  return {
    etcd: paths.ETCD_BIN,
    kubeApiserver: join(kubeDir, 'kube-apiserver'),
    kubeControllerManager: join(kubeDir, 'kube-controller-manager'),
    csiSanity: paths.CSI_SANITY_BIN,
    snapshotController: join(snapshotDir, 'snapshot-controller'),
    snapshotCrdDir: join(snapshotDir, 'crd'),
  };
}
