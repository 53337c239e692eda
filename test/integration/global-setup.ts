// Starts the real bed (control plane + NFS server) once per test run and always stops it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type BedEnv, bedDown, bedUp, killAllNow, ownDaemons, readStateSync } from '../../hack/bed/bed.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    bed: BedEnv;
    /** For tests that restart bed daemons (see restartDaemon). */
    bedStateDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const repoRoot = join(import.meta.dirname, '..', '..');
  const stateDir = mkdtempSync(join(tmpdir(), 'warren-test-state-'));
  const state = await bedUp(stateDir, repoRoot);
  // Workers read the bed from their environment (they are started after this runs) or via inject('bed').
  Object.assign(process.env, state.env);
  project.provide('bed', state.env);
  project.provide('bedStateDir', stateDir);
  // Daemons may be replaced by restartDaemon: kill whatever the state file lists at exit.
  const killOnExit = () => killAllNow(ownDaemons(readStateSync(stateDir) ?? state));
  process.on('exit', killOnExit);
  return async () => {
    process.off('exit', killOnExit);
    await bedDown(stateDir);
    rmSync(stateDir, { recursive: true, force: true });
  };
}
