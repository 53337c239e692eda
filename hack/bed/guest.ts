// Boots the qemu test guest (hack/guest/build.sh) with a test agent inside, so tests can run
// real kernel NFS mounts: the host kernel has no NFS client.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { stripTypeScriptTypes } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { pollUntil } from '../lib/poll.ts';
import type { ExecRequest, ExecResult } from './guest-agent.ts';
import { probe } from './http-probe.ts';
import { freePort } from './ports.ts';

export interface Guest {
  exec(argv: string[], opts?: { timeoutMs?: number; input?: string }): Promise<ExecResult>;
  hostPortFor(guestPort: number): number;
  readonly bootMs: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface BootOptions {
  /** Guest TCP ports to forward from free 127.0.0.1 ports (see Guest.hostPortFor). */
  forwards?: number[];
  memoryMiB?: number;
  /** Where to write the guest's serial console. */
  logFile?: string;
  repoRoot?: string;
  /** Relays inside the guest: 127.0.0.1:listen in the guest reaches 127.0.0.1:port on the host. */
  relays?: Array<{ listen: number; port: number }>;
  /** How long qemu may take until the agent answers (default 120 s). */
  readyTimeoutMs?: number;
  /**
   * Raw disk images attached as virtio disks (/dev/vda, /dev/vdb, ... in this order). snapshot:
   * the guest's writes go to a temporary file and the image itself is never written.
   */
  disks?: Array<{ file: string; snapshot: boolean }>;
}

export interface GuestImage {
  kernel: string;
  initrd: string;
}

/** The address at which the guest reaches the host's 127.0.0.1. */
export const guestNfsHost = '10.0.2.2';

const AGENT_PORT = 7070;
const READY_TIMEOUT_MS = 240_000;
const KVM_INIT_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
const CONSOLE_TAIL_LINES = 40;
const defaultRepoRoot = join(import.meta.dirname, '..', '..');

let image: Promise<GuestImage> | undefined;

/** Builds the guest kernel + initramfs once (cached on disk by hack/guest/build.sh). */
export function ensureGuestImage(repoRoot = defaultRepoRoot): Promise<GuestImage> {
  image ??= execa('bash', [join(repoRoot, 'hack/guest/build.sh')], { stderr: 'inherit' }).then(
    ({ stdout }) => {
      const paths = Object.fromEntries(stdout.split('\n').map((line) => line.split('=', 2)));
      if (!paths.kernel || !paths.initrd)
        throw new Error(`hack/guest/build.sh printed no image paths: ${stdout}`);
      return { kernel: paths.kernel, initrd: paths.initrd };
    },
  );
  image.catch(() => (image = undefined)); // let a later call retry a failed build
  return image;
}

type Accel = 'kvm' | 'tcg';

function accelArgs(accel: Accel): string[] {
  if (accel === 'kvm') return ['-accel', 'kvm', '-cpu', 'host', '-smp', '2'];
  return ['-accel', 'tcg', '-cpu', 'max', '-smp', '1'];
}

/** Written beside the image once KVM failed to run its kernel, so later boots go straight to TCG. */
const kvmUnusableMarker = (img: GuestImage) => join(dirname(img.kernel), 'kvm-unusable');

/**
 * KVM when /dev/kvm opens and has not failed this kernel before, TCG otherwise.
 * WARREN_GUEST_ACCEL=kvm|tcg decides instead (and a KVM failure is then an error).
 */
function chooseAccel(img: GuestImage): { accel: Accel; forced: boolean } {
  const forced = process.env.WARREN_GUEST_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, forced: true };
  if (existsSync(kvmUnusableMarker(img))) return { accel: 'tcg', forced: false };
  try {
    closeSync(openSync('/dev/kvm', 'r+'));
    return { accel: 'kvm', forced: false };
  } catch {
    return { accel: 'tcg', forced: false };
  }
}

class KvmFailure extends Error {}

function qemuArgs(
  img: GuestImage,
  accel: Accel,
  script: string,
  ports: Map<number, number>,
  memoryMiB: number,
  disks: Array<{ file: string; snapshot: boolean }>,
): string[] {
  const hostfwd = [...ports].map(([guest, host]) => `hostfwd=tcp:127.0.0.1:${host}-:${guest}`);
  return [
    ...accelArgs(accel),
    ...['-m', String(memoryMiB), '-nographic', '-serial', 'stdio', '-no-reboot', '-nodefaults'],
    ...['-kernel', img.kernel, '-initrd', img.initrd],
    ...['-append', `console=ttyS0 quiet panic=-1 warren.cmd=${script}`],
    ...['-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap'],
    ...['-netdev', ['user,id=n0', ...hostfwd].join(','), '-device', 'virtio-net-pci,netdev=n0,romfile='],
    ...disks.flatMap((d) => [
      '-drive',
      `file=${d.file},format=raw,if=virtio,${d.snapshot ? 'snapshot=on,cache=unsafe' : 'cache=writeback'}`,
    ]),
  ];
}

/** Node's own type stripping, without its one-time "experimental" warning in test output. */
function stripTypes(source: string): string {
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    return stripTypeScriptTypes(source);
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** Writes the script the guest runs (a host path; the guest sees the host's / read-only). */
async function writeAgentScript(
  repoRoot: string,
  relays: Array<{ listen: number; port: number }>,
): Promise<{ dir: string; script: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'warren-guest-'));
  const script = join(dir, 'agent.sh');
  if (/\s/.test(script)) throw new Error(`the guest script path goes on the kernel command line: ${script}`);
  // Stripping the types here saves the guest 2-5 s of loading Node's TypeScript support under TCG.
  const agentSource = await readFile(join(repoRoot, 'hack/bed/guest-agent.ts'), 'utf8');
  await writeFile(join(dir, 'agent.mjs'), stripTypes(agentSource));
  const repoNode = join(repoRoot, 'node_modules/.bin/node');
  const node = existsSync(repoNode) ? repoNode : process.execPath;
  const relayArgs = relays.map((r) => ` ${r.listen}=${guestNfsHost}:${r.port}`).join('');
  await writeFile(script, `cd /\nexec '${node}' '${join(dir, 'agent.mjs')}' ${AGENT_PORT}${relayArgs}\n`);
  return { dir, script };
}

function postJson<T>(port: number, path: string, body: unknown, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    // agent: false, one connection per call: no keep-alive races with a guest that powers off.
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path, agent: false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode === 200) resolve(JSON.parse(text) as T);
          else reject(new Error(`guest agent ${path}: HTTP ${res.statusCode}: ${text}`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`guest agent ${path}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.setHeader('content-type', 'application/json');
    req.end(JSON.stringify(body));
  });
}

/** Copies the console to logFile, keeps its last lines, and calls onLine for each line. */
function watchConsole(qemu: ChildProcess, logFile: string | undefined, onLine: (line: string) => void) {
  const tail: string[] = [];
  const file = logFile ? createWriteStream(logFile) : undefined;
  for (const stream of [qemu.stdout!, qemu.stderr!]) {
    if (file) stream.on('data', (chunk: Buffer) => file.write(chunk));
    createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
      tail.push(line);
      if (tail.length > CONSOLE_TAIL_LINES) tail.shift();
      onLine(line);
    });
  }
  return { tail: () => tail.join('\n'), close: () => file?.end() };
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Boots the guest and resolves once its agent answers; see the Guest interface. */
export async function bootGuest(opts: BootOptions = {}): Promise<Guest> {
  const repoRoot = opts.repoRoot ?? defaultRepoRoot;
  const img = await ensureGuestImage(repoRoot);
  const { accel, forced } = chooseAccel(img);
  try {
    return await bootWith(opts, repoRoot, img, accel);
  } catch (err) {
    if (!(err instanceof KvmFailure) || forced) throw err;
    // /dev/kvm can open yet be unable to run a stock kernel (a PVM host): remember, use TCG.
    await writeFile(kvmUnusableMarker(img), `${err.message}\n`);
    console.error(
      `[warren] KVM cannot run the guest kernel here; using TCG from now on (${kvmUnusableMarker(img)})`,
    );
    return bootWith(opts, repoRoot, img, 'tcg');
  }
}

async function bootWith(opts: BootOptions, repoRoot: string, img: GuestImage, accel: Accel): Promise<Guest> {
  const ports = new Map<number, number>();
  for (const guestPort of new Set([AGENT_PORT, ...(opts.forwards ?? [])]))
    ports.set(guestPort, await freePort());
  const agentPort = ports.get(AGENT_PORT)!;
  const { dir, script } = await writeAgentScript(repoRoot, opts.relays ?? []);

  const args = qemuArgs(img, accel, script, ports, opts.memoryMiB ?? 512, opts.disks ?? []);
  // setpriv --pdeathsig: the kernel kills qemu if this process dies without calling stop().
  const qemu = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'qemu-system-x86_64', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let spawnError: Error | undefined;
  qemu.on('error', (err) => (spawnError = err));
  const started = Date.now();
  const readyTimeoutMs = opts.readyTimeoutMs ?? READY_TIMEOUT_MS;
  console.error(`[warren] booting the test guest (pid ${qemu.pid}): qemu-system-x86_64 ${args.join(' ')}`);
  let agentPrinted = false;
  let kvmFailed = false; // qemu pauses the VM after a KVM internal error instead of exiting
  let initPrinted = false;
  const serial = watchConsole(qemu, opts.logFile, (line) => {
    agentPrinted ||= line.includes('WARREN-AGENT-READY');
    kvmFailed ||= line.includes('KVM internal error');
    initPrinted ||= line.includes('WARREN-GUEST-READY');
  });
  const cleanup = async () => {
    if (!hasExited(qemu) && !spawnError) qemu.kill('SIGKILL');
    if (!spawnError) await waitForExit(qemu, STOP_TIMEOUT_MS);
    serial.close();
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const healthUrl = `http://127.0.0.1:${agentPort}/health`;
    await pollUntil(async () => agentPrinted && (await probe(healthUrl, {}, 1_000)), {
      what: 'the test guest to start (its agent to answer)',
      timeoutMs: readyTimeoutMs,
      intervalMs: 100,
      giveUpIf: () => {
        if (spawnError) return `setpriv/qemu did not start: ${spawnError.message}`;
        if (kvmFailed) throw new KvmFailure(`KVM internal error booting ${img.kernel}`);
        // A PVM host's KVM can also hang silently after SeaBIOS; a working KVM reaches init in seconds.
        if (accel === 'kvm' && !initPrinted && Date.now() - started > KVM_INIT_TIMEOUT_MS)
          throw new KvmFailure(
            `KVM boot hung before init (${KVM_INIT_TIMEOUT_MS / 1000} s) with ${img.kernel}`,
          );
        // qemu can also abort under KVM before the guest starts (a host that refuses one of the
        // CPU's MSRs: "failed to set MSR ..."): that host's KVM cannot run the guest either.
        if (accel === 'kvm' && !initPrinted && hasExited(qemu))
          throw new KvmFailure(`qemu exited (${qemu.exitCode ?? qemu.signalCode}) under KVM before init`);
        if (hasExited(qemu)) return `qemu exited (${qemu.exitCode ?? qemu.signalCode})`;
        return undefined;
      },
      detail: () => `--- last console lines ---\n${serial.tail()}`,
    });
  } catch (err) {
    await cleanup();
    throw err;
  }
  const bootMs = Date.now() - started;
  console.error(`[warren] test guest ready in ${bootMs} ms (agent on 127.0.0.1:${agentPort})`);

  return {
    bootMs,
    pid: qemu.pid!,
    exec(argv, execOpts = {}) {
      const req: ExecRequest = { argv, ...execOpts };
      // The agent enforces the command's timeout; the slack covers the HTTP round trip.
      const timeoutMs = (execOpts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS) + 15_000;
      return postJson<ExecResult>(agentPort, '/exec', req, timeoutMs);
    },
    hostPortFor(guestPort) {
      const port = ports.get(guestPort);
      if (port === undefined)
        throw new Error(`guest port ${guestPort} is not forwarded; list it in forwards`);
      return port;
    },
    async stop() {
      if (!hasExited(qemu)) await postJson(agentPort, '/poweroff', {}, 2_000).catch(() => undefined);
      if (!(await waitForExit(qemu, STOP_TIMEOUT_MS)))
        console.error(`[warren] guest did not power off; killing ${qemu.pid}`);
      await cleanup();
    },
  };
}
