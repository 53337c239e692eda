// Where the API server is and how to prove who we are: from a kubeconfig file, or from the pod's
// service account. parseKubeConfig and inClusterPlan are pure (what to read, from where);
// openConnection reads the files. A kubeconfig Warren cannot use is refused with what to fix.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { load } from 'js-yaml';
import { invalidArgument } from '../errors.ts';

/** Bytes given inline (base64 in the kubeconfig) or a file to read. */
export type Source = { data: Buffer } | { file: string };

export interface ConnectionPlan {
  server: URL;
  ca?: Source;
  cert?: Source;
  key?: Source;
  /** A bearer token as written, or a file holding it (read again as it rotates). */
  token?: { value: string } | { file: string };
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string;
}

export interface Connection {
  server: URL;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean; servername?: string };
  /** The Authorization header for the next request, if any. */
  authorization(): string | undefined;
}

const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

type Fields = Record<string, unknown>;
const isFields = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The entry of a kubeconfig list (clusters, users, contexts) with this name, or a clear error. */
function entry(doc: Fields, list: string, inner: string, name: string, where: string): Fields {
  const items = Array.isArray(doc[list]) ? (doc[list] as unknown[]) : [];
  const found = items.find((i) => isFields(i) && i.name === name);
  if (!isFields(found) || !isFields(found[inner]))
    throw invalidArgument(`${where}: no ${inner} named "${name}" under ${list}`);
  return found[inner];
}

function text(fields: Fields, key: string, where: string): string | undefined {
  const v = fields[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw invalidArgument(`${where}: ${key} must be a string`);
  return v;
}

/** The `${key}-data` (base64) or `${key}` (a path, relative to the kubeconfig's folder) of an entry. */
function source(fields: Fields, key: string, dir: string, where: string): Source | undefined {
  const data = text(fields, `${key}-data`, where);
  if (data !== undefined) return { data: Buffer.from(data, 'base64') };
  const file = text(fields, key, where);
  if (file !== undefined) return { file: isAbsolute(file) ? file : join(dir, file) };
  return undefined;
}

/** Pure: the connection a kubeconfig's current context (or `context`) describes. */
export function parseKubeConfig(yaml: string, path: string, context?: string): ConnectionPlan {
  if (yaml.trim() === '') throw invalidArgument(`kubeconfig ${path} is empty or not a mapping`);
  let doc: unknown;
  try {
    doc = load(yaml);
  } catch (err) {
    throw invalidArgument(`kubeconfig ${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (!isFields(doc)) throw invalidArgument(`kubeconfig ${path} is empty or not a mapping`);
  const contextName = context ?? text(doc, 'current-context', path);
  if (!contextName) throw invalidArgument(`kubeconfig ${path} has no current-context; set one`);
  const where = `kubeconfig ${path}, context "${contextName}"`;
  const ctx = entry(doc, 'contexts', 'context', contextName, where);
  const clusterName = text(ctx, 'cluster', where);
  if (!clusterName) throw invalidArgument(`${where}: the context names no cluster`);
  const cluster = entry(doc, 'clusters', 'cluster', clusterName, where);
  const userName = text(ctx, 'user', where);
  const user = userName ? entry(doc, 'users', 'user', userName, where) : {};
  for (const unsupported of ['exec', 'auth-provider', 'username'] as const) {
    if (user[unsupported] !== undefined)
      throw invalidArgument(
        `${where}: user "${userName}" authenticates with ${unsupported}, which Warren does not support; ` +
          'give it a client certificate or a token (run in the cluster, Warren uses its service account)',
      );
  }
  if (cluster['proxy-url'] !== undefined)
    throw invalidArgument(
      `${where}: cluster "${clusterName}" sets proxy-url, which Warren does not support; reach the API server directly`,
    );
  const serverText = text(cluster, 'server', where);
  if (!serverText) throw invalidArgument(`${where}: cluster "${clusterName}" has no server`);
  const server = parseServer(serverText, where);
  const dir = dirname(path);
  const token = text(user, 'token', where);
  const tokenFile = text(user, 'tokenFile', where);
  const plan: ConnectionPlan = {
    server,
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
  };
  const ca = source(cluster, 'certificate-authority', dir, where);
  const cert = source(user, 'client-certificate', dir, where);
  const key = source(user, 'client-key', dir, where);
  if (ca) plan.ca = ca;
  if (cert) plan.cert = cert;
  if (key) plan.key = key;
  if ((cert === undefined) !== (key === undefined))
    throw invalidArgument(`${where}: user "${userName}" has a client certificate or key but not both`);
  if (token !== undefined) plan.token = { value: token };
  else if (tokenFile !== undefined)
    plan.token = { file: isAbsolute(tokenFile) ? tokenFile : join(dir, tokenFile) };
  const serverName = text(cluster, 'tls-server-name', where);
  if (serverName) plan.tlsServerName = serverName;
  return plan;
}

/** Pure: the connection of a pod's service account, from the environment kubelet gives every pod. */
export function inClusterPlan(env: Record<string, string | undefined>): ConnectionPlan {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port)
    throw invalidArgument(
      'not running in a pod (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset); pass --kubeconfig',
    );
  return {
    server: parseServer(`https://${host.includes(':') ? `[${host}]` : host}:${port}`, 'in-cluster'),
    ca: { file: join(serviceAccountDir, 'ca.crt') },
    token: { file: join(serviceAccountDir, 'token') },
    insecureSkipTlsVerify: false,
  };
}

function parseServer(value: string, where: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidArgument(`${where}: server "${value}" is not a URL (write it as https://host:port)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw invalidArgument(`${where}: server "${value}" must be http:// or https://`);
  return url;
}

/** How often a token file is read again: service account tokens rotate (kubelet refreshes them). */
export const tokenRereadMs = 60_000;

/** Reads a plan's files; a token file is read again at most every tokenRereadMs. */
export function openConnection(
  plan: ConnectionPlan,
  read: (file: string) => Buffer = (f) => readFileSync(f),
  nowMs: () => number = Date.now,
): Connection {
  const bytes = (s: Source | undefined, what: string): Buffer | undefined => {
    if (!s) return undefined;
    if ('data' in s) return s.data;
    try {
      return read(s.file);
    } catch (err) {
      throw invalidArgument(`cannot read the ${what} ${s.file}: ${(err as Error).message}`);
    }
  };
  const tls: Connection['tls'] = { rejectUnauthorized: !plan.insecureSkipTlsVerify };
  const ca = bytes(plan.ca, 'certificate authority');
  const cert = bytes(plan.cert, 'client certificate');
  const key = bytes(plan.key, 'client key');
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  if (plan.tlsServerName) tls.servername = plan.tlsServerName;
  const token = plan.token;
  let cached: { value: string; atMs: number } | undefined;
  const authorization = (): string | undefined => {
    if (!token) return undefined;
    if ('value' in token) return `Bearer ${token.value}`;
    if (!cached || nowMs() - cached.atMs >= tokenRereadMs) {
      try {
        cached = { value: read(token.file).toString('utf8').trim(), atMs: nowMs() };
      } catch (err) {
        // A token that cannot be read again keeps the one read last (until the next try, not on
        // every request); with none, say what is wrong.
        if (!cached) throw invalidArgument(`cannot read the token ${token.file}: ${(err as Error).message}`);
        cached.atMs = nowMs();
      }
    }
    return `Bearer ${cached.value}`;
  };
  authorization(); // a missing token file is a start-up error, not a failure of the first request
  return { server: plan.server, tls, authorization };
}

/** The connection for --kubeconfig, or the service account's without it. */
export function loadConnection(kubeconfig: string | undefined): Connection {
  if (!kubeconfig) return openConnection(inClusterPlan(process.env));
  let yaml: string;
  try {
    yaml = readFileSync(kubeconfig, 'utf8');
  } catch (err) {
    throw invalidArgument(`cannot read the kubeconfig ${kubeconfig}: ${(err as Error).message}`);
  }
  return openConnection(parseKubeConfig(yaml, kubeconfig));
}
