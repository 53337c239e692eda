import { describe, expect, it } from 'vitest';
import {
  type ConnectionPlan,
  inClusterPlan,
  openConnection,
  parseKubeConfig,
  tokenRereadMs,
} from '../../src/kube/connection.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(opts: { cluster?: string; user?: string; extra?: string } = {}): string {
  return `apiVersion: v1
kind: Config
current-context: bed
contexts:
- name: bed
  context: {cluster: bed, user: admin}
- name: other
  context: {cluster: far, user: admin}
clusters:
- name: bed
  cluster:
${opts.cluster ?? `    server: https://127.0.0.1:6443\n    certificate-authority-data: ${b64('CA')}`}
- name: far
  cluster:
    server: https://127.0.0.2:6443
users:
- name: admin
  user:
${opts.user ?? `    client-certificate-data: ${b64('CERT')}\n    client-key-data: ${b64('KEY')}`}
${opts.extra ?? ''}`;
}

describe('parseKubeConfig', () => {
  it.each<{ name: string; yaml: string; context?: string; expected: ConnectionPlan }>([
    {
      name: 'inline certificate authority and client certificate (what kind and the bed write)',
      yaml: kubeconfig(),
      expected: {
        server: new URL('https://127.0.0.1:6443'),
        ca: { data: Buffer.from('CA') },
        cert: { data: Buffer.from('CERT') },
        key: { data: Buffer.from('KEY') },
        insecureSkipTlsVerify: false,
      },
    },
    {
      name: 'files, relative to the kubeconfig folder or absolute, and a token file',
      yaml: kubeconfig({
        cluster: '    server: https://127.0.0.1:6443\n    certificate-authority: ca.crt',
        user: '    tokenFile: /run/token',
      }),
      expected: {
        server: new URL('https://127.0.0.1:6443'),
        ca: { file: '/home/op/.kube/ca.crt' },
        token: { file: '/run/token' },
        insecureSkipTlsVerify: false,
      },
    },
    {
      name: 'a token as written, insecure-skip-tls-verify and tls-server-name',
      yaml: kubeconfig({
        cluster:
          '    server: https://127.0.0.1:6443\n    insecure-skip-tls-verify: true\n    tls-server-name: kubernetes',
        user: '    token: abc.def',
      }),
      expected: {
        server: new URL('https://127.0.0.1:6443'),
        token: { value: 'abc.def' },
        insecureSkipTlsVerify: true,
        tlsServerName: 'kubernetes',
      },
    },
    {
      name: 'a context other than the current one, when asked for',
      yaml: kubeconfig({ user: '    token: t' }),
      context: 'other',
      expected: {
        server: new URL('https://127.0.0.2:6443'),
        token: { value: 't' },
        insecureSkipTlsVerify: false,
      },
    },
  ])('$name', ({ yaml, context, expected }) => {
    expect(parseKubeConfig(yaml, '/home/op/.kube/config', context)).toStrictEqual(expected);
  });

  it.each<{ name: string; yaml: string; message: string }>([
    {
      name: 'not YAML',
      yaml: 'a: [',
      message: 'kubeconfig /k is not valid YAML: unexpected end of the stream within a flow collection (1:5)',
    },
    { name: 'empty', yaml: '', message: 'kubeconfig /k is empty or not a mapping' },
    {
      name: 'no current context',
      yaml: 'clusters: []',
      message: 'kubeconfig /k has no current-context; set one',
    },
    {
      name: 'a context that is not there',
      yaml: 'current-context: gone\ncontexts: []',
      message: 'kubeconfig /k, context "gone": no context named "gone" under contexts',
    },
    {
      name: 'a cluster that is not there',
      yaml: 'current-context: c\ncontexts:\n- name: c\n  context: {cluster: x}',
      message: 'kubeconfig /k, context "c": no cluster named "x" under clusters',
    },
    {
      name: 'an exec plugin',
      yaml: kubeconfig({ user: '    exec: {command: aws}' }),
      message:
        'kubeconfig /k, context "bed": user "admin" authenticates with exec, which Warren does not support; give it a client certificate or a token (run in the cluster, Warren uses its service account)',
    },
    {
      name: 'a proxy',
      yaml: kubeconfig({ cluster: '    server: https://127.0.0.1:6443\n    proxy-url: http://proxy:3128' }),
      message:
        'kubeconfig /k, context "bed": cluster "bed" sets proxy-url, which Warren does not support; reach the API server directly',
    },
    {
      name: 'a certificate without its key',
      yaml: kubeconfig({ user: `    client-certificate-data: ${b64('CERT')}` }),
      message: 'kubeconfig /k, context "bed": user "admin" has a client certificate or key but not both',
    },
    {
      name: 'a server that is not a URL',
      yaml: kubeconfig({ cluster: '    server: 127.0.0.1:6443' }),
      message:
        'kubeconfig /k, context "bed": server "127.0.0.1:6443" is not a URL (write it as https://host:port)',
    },
    {
      name: 'a server of another scheme',
      yaml: kubeconfig({ cluster: '    server: unix:///run/api.sock' }),
      message: 'kubeconfig /k, context "bed": server "unix:///run/api.sock" must be http:// or https://',
    },
    {
      name: 'no server',
      yaml: kubeconfig({ cluster: '    certificate-authority: ca.crt' }),
      message: 'kubeconfig /k, context "bed": cluster "bed" has no server',
    },
    {
      name: 'a token that is not a string',
      yaml: kubeconfig({ user: '    token: [1]' }),
      message: 'kubeconfig /k, context "bed": token must be a string',
    },
  ])('refuses $name, saying what to fix', ({ yaml, message }) => {
    let thrown: unknown;
    try {
      parseKubeConfig(yaml, '/k');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ kind: 'InvalidArgument' });
    // js-yaml's message goes on with a drawing of where the error is.
    expect((thrown as Error).message.split('\n')[0]).toBe(message);
  });
});

describe('inClusterPlan', () => {
  it('uses the service account files and the service address, bracketing an IPv6 host', () => {
    const plan = inClusterPlan({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' });
    expect({ ...plan, server: plan.server.href }).toStrictEqual({
      server: 'https://[fd00::1]:6443/',
      ca: { file: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt' },
      token: { file: '/var/run/secrets/kubernetes.io/serviceaccount/token' },
      insecureSkipTlsVerify: false,
    });
    expect(
      inClusterPlan({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }).server.href,
    ).toBe('https://10.96.0.1/');
  });

  it('outside a pod, says to pass --kubeconfig', () => {
    expect(() => inClusterPlan({})).toThrow(/not running in a pod .*; pass --kubeconfig/);
  });
});

describe('openConnection', () => {
  const server = new URL('https://127.0.0.1:6443');

  it('reads the files once, and the token file again once tokenRereadMs has passed', () => {
    const files: Record<string, string> = { '/ca': 'CA', '/token': 'one\n' };
    const reads: string[] = [];
    const read = (f: string) => {
      reads.push(f);
      const text = files[f];
      if (text === undefined) throw new Error('ENOENT');
      return Buffer.from(text);
    };
    let now = 0;
    const conn = openConnection(
      { server, ca: { file: '/ca' }, token: { file: '/token' }, insecureSkipTlsVerify: false },
      read,
      () => now,
    );
    expect(conn.tls).toStrictEqual({ ca: Buffer.from('CA'), rejectUnauthorized: true });
    expect(conn.authorization()).toBe('Bearer one');
    files['/token'] = 'two';
    now = tokenRereadMs - 1;
    expect(conn.authorization()).toBe('Bearer one');
    now = tokenRereadMs;
    expect(conn.authorization()).toBe('Bearer two');
    // A token file gone for a moment (kubelet swaps it): the last token read is kept.
    delete files['/token'];
    now = 3 * tokenRereadMs;
    expect(conn.authorization()).toBe('Bearer two');
    expect(conn.authorization()).toBe('Bearer two'); // not read again at once
    files['/token'] = 'three';
    now = 4 * tokenRereadMs;
    expect(conn.authorization()).toBe('Bearer three');
    expect(reads).toStrictEqual(['/ca', '/token', '/token', '/token', '/token']);
  });

  it('a file it cannot read is a start-up error naming it', () => {
    const read = () => {
      throw new Error('ENOENT: no such file');
    };
    expect(() => openConnection({ server, ca: { file: '/ca' }, insecureSkipTlsVerify: false }, read)).toThrow(
      'cannot read the certificate authority /ca: ENOENT: no such file',
    );
    expect(() =>
      openConnection({ server, token: { file: '/token' }, insecureSkipTlsVerify: false }, read),
    ).toThrow('cannot read the token /token: ENOENT: no such file');
  });

  it('a token as written, and no Authorization without a token', () => {
    expect(
      openConnection({ server, token: { value: 'abc' }, insecureSkipTlsVerify: true }).authorization(),
    ).toBe('Bearer abc');
    const plain = openConnection({ server, insecureSkipTlsVerify: true });
    expect(plain.authorization()).toBeUndefined();
    expect(plain.tls).toStrictEqual({ rejectUnauthorized: false });
  });
});
