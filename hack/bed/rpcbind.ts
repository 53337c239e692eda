// The rpcbind that ganesha registers with, shared by every bed on the machine: found or started
// when a bed's NFS server starts, stopped when the last bed's NFS server stops.
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Daemon, isRunning, startDaemon, stopDaemon, waitReady } from './daemon.ts';
import { livingProcesses, requiredCommand } from './host.ts';

const rpcbindSocket = '/run/rpcbind.sock';
/** The rpcbind a bed started, so that the next bed finds it and whichever stops last stops it. */
const rpcbindRecord = '/run/warren-rpcbind.json';

/**
 * Makes sure an rpcbind answers on its unix socket, which is how ganesha registers, and returns
 * it (undefined when it is the machine's own, which the bed never stops). One started here runs
 * in a private network namespace (nothing listens on port 111) and is recorded in a file, so
 * that every bed gets the same one. A socket file left by a killed rpcbind is removed first:
 * nothing accepts on it, and ganesha exits when it cannot register.
 */
export async function acquireRpcbind(dir: string): Promise<Daemon | undefined> {
  const recorded = readRpcbindRecord();
  const answering = await accepts(rpcbindSocket);
  if (recorded && isRunning(recorded) && answering) return recorded;
  if (answering) return undefined; // the machine's own rpcbind: use it, never stop it
  if (recorded && isRunning(recorded)) await stopDaemon(recorded);
  const others = await livingProcesses('rpcbind');
  if (others.length > 0) {
    throw new Error(
      `rpcbind (pid ${others.join(', ')}) runs but does not answer on ${rpcbindSocket}; stop it and run again`,
    );
  }
  // Once more if it exits at once: rpcbind reports why only to syslog, which the bed does not have.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRpcbind(dir);
    } catch (err) {
      if (attempt >= 3) throw err;
      console.error(`[warren] ${(err as Error).message.split('\n')[0]}; starting it again`);
      await sleep(500);
    }
  }
}

/**
 * Gives up a bed's use of rpcbind: stops it when no ganesha on the machine still runs (the
 * caller has stopped its own), and leaves it for the others otherwise.
 */
export async function releaseRpcbind(rpcbind: Daemon | undefined): Promise<void> {
  if (!rpcbind) return;
  if ((await livingProcesses('ganesha.nfsd')).length > 0) return;
  await stopDaemon(rpcbind);
}

/** True when something accepts connections on the rpcbind socket. */
export const rpcbindAnswers = () => accepts(rpcbindSocket);

async function startRpcbind(dir: string): Promise<Daemon> {
  await rm(rpcbindSocket, { force: true });
  const rpcbind = startDaemon(
    'rpcbind',
    [
      'unshare',
      '-n',
      'sh',
      '-c',
      `${requiredCommand('ip')} link set lo up && exec ${requiredCommand('rpcbind')} -f`,
    ],
    { logFile: join(dir, 'rpcbind.log') },
  );
  rpcbind.signature = 'rpcbind'; // in the command line before the exec (sh -c) and after it
  // Recorded at once, so that a bed interrupted while waiting leaves it for the next one to find.
  await writeFile(rpcbindRecord, JSON.stringify(rpcbind));
  try {
    await waitReady(rpcbind, () => accepts(rpcbindSocket), {
      timeoutMs: 10_000,
      what: `accepting connections on ${rpcbindSocket}`,
    });
  } catch (err) {
    await stopDaemon(rpcbind); // so that a second try never runs beside it
    throw err;
  }
  return rpcbind;
}

function readRpcbindRecord(): Daemon | undefined {
  try {
    return JSON.parse(readFileSync(rpcbindRecord, 'utf8')) as Daemon;
  } catch {
    return undefined;
  }
}

function accepts(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
