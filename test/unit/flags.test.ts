import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { controllerFlags } from '../../src/config/controller-flags.ts';
import { type FlagSpec, formatDuration, helpText, parseFlags } from '../../src/config/flags.ts';
import { nodeFlags } from '../../src/config/node-flags.ts';
import type { WarrenError } from '../../src/errors.ts';
import { expectWarrenError } from './expect-warren-error.ts';

const share = '--share=nfs.example.com:/export=/exports/main';
const mainShare = { server: 'nfs.example.com', share: '/export', localDir: '/exports/main' };
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseFlags(controllerFlags, argv, env);
/** The kind and exact message of what `run` throws. */
function failure(run: () => unknown): { kind: string; message: string } | 'did not throw' {
  try {
    run();
  } catch (err) {
    return { kind: (err as WarrenError).kind, message: (err as WarrenError).message };
  }
  return 'did not throw';
}

beforeEach(() => {
  // The lease namespace default reads the pod's namespace from the process environment.
  vi.stubEnv('POD_NAMESPACE', undefined);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('controller flags', () => {
  it('has these defaults when only --share is given', () => {
    expect(parse([share])).toEqual({
      provisioner: 'nfs.warren.dev',
      kubeconfig: undefined,
      shares: [mainShare],
      workers: 16,
      copyWorkers: 2,
      resync: 300_000,
      leaderElect: true,
      leaseNamespace: 'default',
      leaseName: 'warren-controller',
      leaseDuration: 15_000,
      metricsAddress: ':8080',
      logLevel: 'info',
    });
  });

  it('defaults the lease namespace to the pod namespace', () => {
    vi.stubEnv('POD_NAMESPACE', 'warren-system');
    expect(parse([share]).leaseNamespace).toBe('warren-system');
  });

  it('reads every flag from its environment variable', () => {
    const env = {
      WARREN_PROVISIONER: 'nfs.example.org',
      KUBECONFIG: '/home/me/.kube/config',
      WARREN_SHARES: 'nfs.example.com:/export=/exports/main,[fd00::1]:/data/=/exports/v6',
      WARREN_WORKERS: '4',
      WARREN_COPY_WORKERS: '3',
      WARREN_RESYNC_PERIOD: '90s',
      WARREN_LEADER_ELECT: 'false',
      WARREN_LEADER_ELECTION_NAMESPACE: 'storage',
      WARREN_LEADER_ELECTION_LEASE_NAME: 'warren-a',
      WARREN_LEADER_ELECTION_LEASE_DURATION: '2500ms',
      WARREN_METRICS_ADDRESS: '127.0.0.1:9090',
      WARREN_LOG_LEVEL: 'debug',
    };
    expect(parse([], env)).toEqual({
      provisioner: 'nfs.example.org',
      kubeconfig: '/home/me/.kube/config',
      shares: [mainShare, { server: '[fd00::1]', share: '/data', localDir: '/exports/v6' }],
      workers: 4,
      copyWorkers: 3,
      resync: 90_000,
      leaderElect: false,
      leaseNamespace: 'storage',
      leaseName: 'warren-a',
      leaseDuration: 2_500,
      metricsAddress: '127.0.0.1:9090',
      logLevel: 'debug',
    });
  });

  it('accepts --name=value and --name value alike', () => {
    const separate = parse([
      '--workers',
      '8',
      '--resync-period',
      '2m',
      '--share',
      'nfs:/x=/mnt/x',
      '--log-level',
      'warn',
    ]);
    const joined = parse(['--workers=8', '--resync-period=2m', '--share=nfs:/x=/mnt/x', '--log-level=warn']);
    expect(separate).toEqual(joined);
    expect([separate.workers, separate.resync, separate.shares, separate.logLevel]).toEqual([
      8,
      120_000,
      [{ server: 'nfs', share: '/x', localDir: '/mnt/x' }],
      'warn',
    ]);
  });

  it('keeps everything after the first "=" as the value', () => {
    expect(parse(['--share=nfs:/a=/b', '--kubeconfig=/tmp/a=b']).kubeconfig).toBe('/tmp/a=b');
  });

  it('prefers a flag over its environment variable, and ignores an empty variable', () => {
    const parsed = parse([share, '--workers=2'], { WARREN_WORKERS: '9', WARREN_LOG_LEVEL: '' });
    expect([parsed.workers, parsed.logLevel]).toEqual([2, 'info']);
  });

  it('a flag replaces the whole comma-separated environment list', () => {
    expect(parse([share], { WARREN_SHARES: 'a:/x=/a,b:/y=/b' }).shares).toEqual([mainShare]);
  });

  it.each<[string, string[], boolean]>([
    ['bare boolean flag', ['--leader-elect'], true],
    ['bare boolean flag followed by another flag', ['--leader-elect', '--workers=3'], true],
    ['--flag=false', ['--leader-elect=false'], false],
    ['--flag false', ['--leader-elect', 'false'], false],
    ['--flag true', ['--leader-elect', 'true'], true],
  ])('boolean: %s', (_name, argv, expected) => {
    expect(parse([share, ...argv], { WARREN_LEADER_ELECT: 'false' }).leaderElect).toBe(expected);
  });

  it('takes --share more than once, in order', () => {
    const parsed = parse([share, '--share', '10.0.0.5:/vol/team/=/exports/team']);
    expect(parsed.shares).toEqual([
      mainShare,
      { server: '10.0.0.5', share: '/vol/team', localDir: '/exports/team' },
    ]);
  });

  it.each<[string, string, string]>([
    ['1', 'workers', '1'],
    ['256', 'workers', '256'],
    ['1s', 'resync-period', '1000'],
    ['1500ms', 'resync-period', '1500'],
    ['1000ms', 'leader-election-lease-duration', '1000'],
    ['[::1]:9443', 'metrics-address', '[::1]:9443'],
    ['0.0.0.0:65535', 'metrics-address', '0.0.0.0:65535'],
    ['localhost:80', 'metrics-address', 'localhost:80'],
  ])('accepts %s for --%s', (value, flag, expected) => {
    const parsed = parse([share, `--${flag}=${value}`]);
    const key = Object.entries(controllerFlags).find(([, spec]) => spec.name === flag)?.[0] ?? '';
    expect(String(parsed[key as keyof typeof parsed])).toBe(expected);
  });

  it.each<[string[], NodeJS.ProcessEnv, string]>([
    [['--resync-period=0s'], {}, '--resync-period (or $WARREN_RESYNC_PERIOD): must be at least 1s, got "0s"'],
    [
      ['--resync-period=35792m'],
      {},
      '--resync-period (or $WARREN_RESYNC_PERIOD): must be at most 35791m, got "35792m"',
    ],
    [
      ['--resync-period=999ms'],
      {},
      '--resync-period (or $WARREN_RESYNC_PERIOD): must be at least 1s, got "999ms"',
    ],
    [
      [],
      { WARREN_RESYNC_PERIOD: '0m' },
      '--resync-period (or $WARREN_RESYNC_PERIOD): must be at least 1s, got "0m"',
    ],
    [
      ['--leader-election-lease-duration=0s'],
      {},
      '--leader-election-lease-duration (or $WARREN_LEADER_ELECTION_LEASE_DURATION): must be at least 1s, got "0s"',
    ],
    [
      ['--leader-election-lease-duration=999ms'],
      {},
      '--leader-election-lease-duration (or $WARREN_LEADER_ELECTION_LEASE_DURATION): must be at least 1s, got "999ms"',
    ],
  ])('rejects a duration below its minimum: %j %j', (argv, env, message) => {
    expect(failure(() => parse([share, ...argv], env))).toEqual({ kind: 'InvalidArgument', message });
  });

  it.each<[string, string[], NodeJS.ProcessEnv, string[]]>([
    ['unknown flag', [share, '--worker=4'], {}, ['--worker', 'unknown flag']],
    ['single-dash flag', [share, '-workers=4'], {}, ['"-workers=4"']],
    ['positional argument', [share, 'extra'], {}, ['"extra"']],
    ['missing value at the end', [share, '--workers'], {}, ['--workers', 'needs a value']],
    ['missing value for --share', ['--share'], {}, ['--share', 'needs a value']],
    ['number that is not a number', [share, '--workers=many'], {}, ['--workers', '"many"']],
    ['number below the range', [share, '--workers=0'], {}, ['--workers', 'from 1 to 256']],
    ['number above the range', [share, '--workers', '257'], {}, ['--workers', '"257"']],
    ['fractional number', [share, '--workers=1.5'], {}, ['--workers', '"1.5"']],
    ['empty number', [share, '--workers='], {}, ['--workers']],
    [
      'bad number in the environment',
      [share],
      { WARREN_WORKERS: '-3' },
      ['--workers', '$WARREN_WORKERS', '"-3"'],
    ],
    ['duration without a unit', [share, '--resync-period=30'], {}, ['--resync-period', '"30"']],
    ['duration in hours', [share, '--resync-period=1h'], {}, ['--resync-period', '"1h"']],
    [
      'negative duration',
      [share, '--leader-election-lease-duration=-5s'],
      {},
      ['--leader-election-lease-duration'],
    ],
    [
      'listen address without a port',
      [share, '--metrics-address=localhost'],
      {},
      ['--metrics-address', '"localhost"'],
    ],
    ['listen port above 65535', [share, '--metrics-address=:65536'], {}, ['--metrics-address', '":65536"']],
    ['listen address with a scheme', [share, '--metrics-address=http://x:80'], {}, ['--metrics-address']],
    ['unbracketed IPv6 listen address', [share, '--metrics-address=::1:80'], {}, ['--metrics-address']],
    ['boolean that is not true/false', [share, '--leader-elect=yes'], {}, ['--leader-elect', '"yes"']],
    ['boolean in the environment', [share], { WARREN_LEADER_ELECT: '1' }, ['--leader-elect', '"1"']],
    ['unknown log level', [share, '--log-level=trace'], {}, ['--log-level', 'debug, info, warn, error']],
    ['empty provisioner', [share, '--provisioner='], {}, ['--provisioner', 'empty']],
    ['duplicate --workers', [share, '--workers=2', '--workers=3'], {}, ['--workers', 'more than once']],
    [
      'duplicate boolean',
      [share, '--leader-elect', '--leader-elect=false'],
      {},
      ['--leader-elect', 'more than once'],
    ],
    [
      'duplicate --log-level',
      [share, '--log-level', 'warn', '--log-level=info'],
      {},
      ['--log-level', 'more than once'],
    ],
    ['no --share at all', [], {}, ['--share', '$WARREN_SHARES', 'at least one']],
    ['malformed --share', ['--share=nfs.example.com/export'], {}, ['--share', 'nfs.example.com/export']],
    ['--share with a relative local dir', ['--share=nfs:/export=mnt'], {}, ['--share', '"mnt"']],
    [
      'malformed entry in $WARREN_SHARES',
      [],
      { WARREN_SHARES: 'nfs:/a=/a,,' },
      ['--share', '$WARREN_SHARES'],
    ],
  ])('rejects %s', (_name, argv, env, fragments) => {
    expectWarrenError(() => parse(argv, env), 'InvalidArgument', ...fragments);
  });
});

describe('node duration flags', () => {
  it.each<[string[], NodeJS.ProcessEnv, string]>([
    [['--mount-timeout=0s'], {}, '--mount-timeout (or $WARREN_MOUNT_TIMEOUT): must be at least 1s, got "0s"'],
    [
      ['--mount-timeout=999ms'],
      {},
      '--mount-timeout (or $WARREN_MOUNT_TIMEOUT): must be at least 1s, got "999ms"',
    ],
    [
      [],
      { WARREN_MOUNT_TIMEOUT: '0ms' },
      '--mount-timeout (or $WARREN_MOUNT_TIMEOUT): must be at least 1s, got "0ms"',
    ],
  ])('rejects a duration below its minimum: %j %j', (argv, env, message) => {
    expect(failure(() => parseFlags(nodeFlags, argv, { NODE_NAME: 'node-1', ...env }))).toEqual({
      kind: 'InvalidArgument',
      message,
    });
  });

  it('accepts --mount-timeout at its minimum', () => {
    expect(parseFlags(nodeFlags, ['--mount-timeout=1s'], { NODE_NAME: 'node-1' }).mountTimeout).toBe(1000);
  });
});

describe('formatDuration', () => {
  it.each<[number, string]>([
    [0, '0ms'],
    [999, '999ms'],
    [1000, '1s'],
    [1500, '1500ms'],
    [90_000, '90s'],
    [300_000, '5m'],
  ])('%i ms is %s', (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });
});

describe('helpText', () => {
  const help = helpText('controller', 'Provisions NFS directories for claims.', controllerFlags);
  const specs: FlagSpec<unknown>[] = Object.values(controllerFlags);

  it('starts with usage and the summary', () => {
    expect(help.split('\n').slice(0, 3)).toEqual([
      'Usage: warren controller [flags]',
      '',
      'Provisions NFS directories for claims.',
    ]);
  });

  it.each(specs.map((spec) => [spec.name, spec] as const))(
    'lists --%s with its variable, default and help',
    (_name, spec) => {
      const line = help
        .split('\n')
        .find((l) => l.startsWith(`  --${spec.name} `) || l.startsWith(`  --${spec.name}  `));
      const defaultPart = spec.defaultText === undefined ? '' : ` (default ${spec.defaultText})`;
      expect(line).toBe(
        `  --${spec.name}${spec.repeatable ? ' (repeatable)' : ''}  [$${spec.env}]${defaultPart}`,
      );
      expect(help).toContain(`\n      ${spec.help}\n`);
    },
  );

  it('lists exactly the flags there are, once each', () => {
    const listed = help
      .split('\n')
      .filter((l) => /^ {2}--/.test(l))
      .map((l) => l.trim().split(' ')[0]);
    expect(listed).toEqual([
      '--provisioner',
      '--kubeconfig',
      '--share',
      '--workers',
      '--copy-workers',
      '--resync-period',
      '--leader-elect',
      '--leader-election-namespace',
      '--leader-election-lease-name',
      '--leader-election-lease-duration',
      '--metrics-address',
      '--log-level',
    ]);
  });

  it('marks --share repeatable and required (no default)', () => {
    expect(help).toContain('  --share (repeatable)  [$WARREN_SHARES]\n');
  });
});
