// Runs inside the qemu test guest (chrooted into the host's /) and executes commands for the
// host over HTTP: POST /exec {argv, timeoutMs?, input?} -> {code, stdout, stderr}.
// The guest runs a type-stripped copy of this file, so it imports node: builtins only.
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer } from 'node:net';
import { constants } from 'node:os';

export interface ExecRequest {
  argv: string[];
  timeoutMs?: number;
  input?: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

const TIMED_OUT_CODE = 124;
const SPAWN_FAILED_CODE = 127;
const DEFAULT_TIMEOUT_MS = 60_000;
// After the command exits, how long to wait for its pipes to close: a grandchild (e.g. a
// umount.nfs4 blocked on a dead server) may hold them open indefinitely.
const PIPE_GRACE_MS = 500;

function exitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? constants.signals[signal] : 0);
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is already gone
  }
}

export function runCommand(req: ExecRequest): Promise<ExecResult> {
  const [file, ...args] = req.argv;
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  return new Promise((resolve) => {
    // detached: the command leads its own process group, so a timeout kills its children too.
    const child = spawn(file!, args, { detached: true, stdio: 'pipe' });
    let timedOut = false;
    let settled = false;
    const finish = (code: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({
        code: timedOut ? TIMED_OUT_CODE : code,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
      });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, req.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err) => {
      stderr.push(Buffer.from(`${err.message}\n`));
      finish(SPAWN_FAILED_CODE);
    });
    child.on('close', (code, signal) => finish(exitCode(code, signal)));
    child.on('exit', (code, signal) => {
      setTimeout(() => finish(exitCode(code, signal)), PIPE_GRACE_MS);
    });
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    child.stdin.end(req.input ?? '');
  });
}

function parseExecRequest(body: string): ExecRequest {
  const req = JSON.parse(body) as Partial<ExecRequest>;
  const argvOk =
    Array.isArray(req.argv) && req.argv.length > 0 && req.argv.every((a) => typeof a === 'string');
  if (!argvOk) throw new Error('argv must be a non-empty array of strings');
  if (req.timeoutMs !== undefined && !(typeof req.timeoutMs === 'number' && req.timeoutMs > 0)) {
    throw new Error('timeoutMs must be a positive number');
  }
  if (req.input !== undefined && typeof req.input !== 'string') throw new Error('input must be a string');
  return { argv: req.argv!, timeoutMs: req.timeoutMs, input: req.input };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === 'GET' && req.url === '/health') return reply(res, 200, { ok: true });
  if (req.method === 'POST' && req.url === '/poweroff') {
    reply(res, 200, { ok: true });
    // Exiting ends the guest's command; its /init then powers the machine off.
    res.on('finish', () => process.exit(0));
    return;
  }
  if (req.method !== 'POST' || req.url !== '/exec') return reply(res, 404, { error: 'not found' });
  let execReq: ExecRequest;
  try {
    execReq = parseExecRequest(await readBody(req));
  } catch (err) {
    return reply(res, 400, { error: (err as Error).message });
  }
  const started = Date.now();
  const result = await runCommand(execReq);
  console.error(`agent: ${JSON.stringify(execReq.argv)} -> ${result.code} in ${Date.now() - started} ms`);
  reply(res, 200, result);
}

/**
 * Relays guest 127.0.0.1:LISTEN to HOST:PORT (given as `LISTEN=HOST:PORT`), so the guest sees
 * the host's NFS server at 127.0.0.1 on the standard port, as a node sees a real server.
 */
function startForward(spec: string): Promise<void> {
  const m = /^(\d+)=([^:]+):(\d+)$/.exec(spec);
  if (!m) throw new Error(`bad forward ${spec}; expected LISTEN=HOST:PORT`);
  const [, listen, host, port] = m;
  const server = createNetServer((inbound) => {
    const outbound = connect(Number(port), host ?? '');
    const close = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', close).on('close', close);
    outbound.on('error', close).on('close', close);
    inbound.pipe(outbound).pipe(inbound);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(listen), '127.0.0.1', () => resolve());
  });
}

if (import.meta.main) {
  const port = Number(process.argv[2] ?? 7070);
  await Promise.all(process.argv.slice(3).map(startForward));
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => reply(res, 500, { error: err.message }));
  });
  server.listen(port, '0.0.0.0', () => console.log('WARREN-AGENT-READY'));
}
