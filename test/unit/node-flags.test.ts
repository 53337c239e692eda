import { describe, expect, it } from 'vitest';
import { parseFlags } from '../../src/config/flags.ts';
import { checkNodeConfig, kubeletEndpointOf, nodeFlags } from '../../src/config/node-flags.ts';
import { expectWarrenError } from './expect-warren-error.ts';

const parse = (argv: string[], env: NodeJS.ProcessEnv = { NODE_NAME: 'node-1' }) =>
  checkNodeConfig(parseFlags(nodeFlags, argv, env));

describe('node flags', () => {
  it('has these defaults, with the node id from NODE_NAME', () => {
    expect(parse([])).toEqual({
      endpoint: 'unix:///csi/csi.sock',
      nodeId: 'node-1',
      driverName: 'nfs.warren.dev',
      controller: false,
      shares: [],
      mountTimeout: 30_000,
      logLevel: 'info',
    });
  });

  it('serves /healthz only when given an address', () => {
    expect(parse(['--health-address=localhost:9808']).healthAddress).toBe('localhost:9808');
    expect(parse([], { NODE_NAME: 'n', WARREN_HEALTH_ADDRESS: ':9808' }).healthAddress).toBe(':9808');
    expect(parse(['--health-address=']).healthAddress).toBeUndefined();
    expectWarrenError(
      () => parse(['--health-address=9808']),
      'InvalidArgument',
      '--health-address',
      'HOST:PORT',
    );
  });

  it('needs a node id', () => {
    expectWarrenError(() => parse([], {}), 'InvalidArgument', '--node-id', 'NODE_NAME');
  });

  it('reads the endpoint from CSI_ENDPOINT and lets flags win over the environment', () => {
    const env = { NODE_NAME: 'n', CSI_ENDPOINT: 'unix:///plugin/csi.sock' };
    expect(parse([], env).endpoint).toBe('unix:///plugin/csi.sock');
    expect(parse(['--endpoint=tcp://127.0.0.1:9000', '--node-id', 'other'], env)).toMatchObject({
      endpoint: 'tcp://127.0.0.1:9000',
      nodeId: 'other',
    });
  });

  it('serves the controller only with at least one --share', () => {
    expectWarrenError(
      () => parse(['--controller']),
      'InvalidArgument',
      '--controller needs at least one --share',
    );
    const config = parse([
      '--controller',
      '--share=nfs.example.com:/export=/exports/main',
      '--mount-timeout=5s',
    ]);
    expect(config).toMatchObject({
      controller: true,
      shares: [{ server: 'nfs.example.com', share: '/export', localDir: '/exports/main' }],
      mountTimeout: 5_000,
    });
  });

  it.each([
    [['--registration-dir=/registration'], '/csi/csi.sock'],
    [
      [
        '--registration-dir=/registration',
        '--kubelet-registration-path=/var/lib/kubelet/plugins/nfs.warren.dev/csi.sock',
      ],
      '/var/lib/kubelet/plugins/nfs.warren.dev/csi.sock',
    ],
    [
      ['--registration-dir=/r', '--endpoint=tcp://127.0.0.1:9000', '--kubelet-registration-path=/k/csi.sock'],
      '/k/csi.sock',
    ],
  ])('registers with kubelet from %j, telling it the socket %s', (argv, endpoint) => {
    const config = parse(argv);
    expect(config.registrationDir).toBe(argv[0]!.split('=')[1]);
    expect(kubeletEndpointOf(config)).toBe(endpoint);
  });

  it('reads the registration flags from the environment', () => {
    const config = parse([], {
      NODE_NAME: 'n',
      WARREN_REGISTRATION_DIR: '/registration',
      WARREN_KUBELET_REGISTRATION_PATH: '/var/lib/kubelet/plugins/x/csi.sock',
    });
    expect(config).toMatchObject({
      registrationDir: '/registration',
      kubeletRegistrationPath: '/var/lib/kubelet/plugins/x/csi.sock',
    });
  });

  it.each([
    [['--registration-dir=registration'], ['--registration-dir', 'absolute path']],
    [
      ['--kubelet-registration-path=/k/csi.sock'],
      ['--kubelet-registration-path only has a use with --registration-dir'],
    ],
    [['--registration-dir=/r', '--endpoint=tcp://127.0.0.1:9000'], ['needs --kubelet-registration-path']],
  ])('refuses %j', (argv, fragments) => {
    expectWarrenError(() => parse(argv), 'InvalidArgument', ...fragments);
  });
});
