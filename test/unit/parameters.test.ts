// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are subDir templates, Warren's own syntax
import { describe, expect, it } from 'vitest';
import type { ErrorKind } from '../../src/errors.ts';
import { defaultSubDirTemplate } from '../../src/provisioning/names.ts';
import { parseClassParameters } from '../../src/provisioning/parameters.ts';
import type { ClassParameters } from '../../src/provisioning/types.ts';
import { expectWarrenError } from './expect-warren-error.ts';

const base = { server: 'nfs.example.com', share: '/export' };

describe('parseClassParameters', () => {
  it.each<{ name: string; params: Record<string, string>; expected: ClassParameters }>([
    {
      name: 'defaults',
      params: base,
      expected: { ...base, subDir: defaultSubDirTemplate, onDelete: 'delete', mode: 0o777 },
    },
    {
      name: 'every key, any case',
      params: {
        SERVER: '10.0.0.5',
        Share: '//export//team/',
        SubDir: '${pvc.metadata.namespace}/${pvc.metadata.name}',
        ONDELETE: 'Archive',
        Mode: '2775',
        UID: '1000',
        gid: '0',
      },
      expected: {
        server: '10.0.0.5',
        share: '/export/team',
        subDir: '${pvc.metadata.namespace}/${pvc.metadata.name}',
        onDelete: 'archive',
        mode: 0o2775,
        uid: 1000,
        gid: 0,
      },
    },
    {
      name: 'bracketed IPv6 server and root share',
      params: { server: '[fd00::1]', share: '/', onDelete: 'RETAIN' },
      expected: {
        server: '[fd00::1]',
        share: '/',
        subDir: defaultSubDirTemplate,
        onDelete: 'retain',
        mode: 0o777,
      },
    },
    {
      name: 'mode without leading zero, uid at the top of the range',
      params: { ...base, mode: '770', uid: '2147483647' },
      expected: { ...base, subDir: defaultSubDirTemplate, onDelete: 'delete', mode: 0o770, uid: 2147483647 },
    },
    {
      name: 'largest mode and label with a slash in its key',
      params: { ...base, mode: '07777', subDir: "x/${pvc.metadata.labels['app.kubernetes.io/name']}" },
      expected: {
        ...base,
        subDir: "x/${pvc.metadata.labels['app.kubernetes.io/name']}",
        onDelete: 'delete',
        mode: 0o7777,
      },
    },
    {
      name: 'mode 0',
      params: { ...base, mode: '0' },
      expected: { ...base, subDir: defaultSubDirTemplate, onDelete: 'delete', mode: 0 },
    },
  ])('accepts $name', ({ params, expected }) => {
    expect(parseClassParameters(params)).toStrictEqual(expected);
  });

  const hostile: Array<[string, Record<string, string> | undefined, ErrorKind, string[]]> = [
    ['no parameters at all', undefined, 'InvalidArgument', ['server and share are missing']],
    ['empty parameters', {}, 'InvalidArgument', ['server and share are missing']],
    ['share missing', { server: 'nfs' }, 'InvalidArgument', ['parameter share is missing']],
    ['server missing', { share: '/export' }, 'InvalidArgument', ['parameter server is missing']],
    [
      'unknown key',
      { ...base, pathPattern: 'x' },
      'InvalidArgument',
      ['"pathPattern"', 'server, share, subDir'],
    ],
    ['csi-driver-nfs key', { ...base, mountPermissions: '0777' }, 'InvalidArgument', ['"mountPermissions"']],
    [
      'case-only duplicate',
      { ...base, subDir: 'a', subdir: 'b' },
      'InvalidArgument',
      ['"subDir" and "subdir"'],
    ],
    ['server with whitespace', { ...base, server: ' nfs' }, 'InvalidArgument', ['" nfs"', '" "']],
    ['server with tab', { ...base, server: 'nfs\tx' }, 'InvalidArgument', ['"nfs\\tx"']],
    ['server with a path', { ...base, server: 'nfs.example.com/export' }, 'InvalidArgument', ['"/"']],
    ['server with #', { ...base, server: 'nfs#1' }, 'InvalidArgument', ['"nfs#1"']],
    ['server with zone id', { ...base, server: '[fe80::1%eth0]' }, 'InvalidArgument', ['"%"']],
    ['unbracketed IPv6', { ...base, server: 'fd00::1' }, 'InvalidArgument', ['[fd00::1]']],
    ['unterminated bracket', { ...base, server: '[fd00::1' }, 'InvalidArgument', ['"[fd00::1"', 'bracketed']],
    ['brackets around a name', { ...base, server: '[nfs]' }, 'InvalidArgument', ['"[nfs]"']],
    ['bad IPv4', { ...base, server: '999.1.1.1' }, 'InvalidArgument', ['"999.1.1.1"', 'IPv4']],
    ['server too long', { ...base, server: `${'a.'.repeat(127)}a` }, 'InvalidArgument', ['253']],
    ['empty server', { ...base, server: '' }, 'InvalidArgument', ['server is empty']],
    ['label starting with -', { ...base, server: '-bad.example' }, 'InvalidArgument', ['"-bad.example"']],
    ['trailing dot', { ...base, server: 'nfs.example.com.' }, 'InvalidArgument', ['"nfs.example.com."']],
    ['server with port', { ...base, server: 'nfs:2049' }, 'InvalidArgument', ['"nfs:2049"']],
    ['unicode server', { ...base, server: 'nfsé.example' }, 'InvalidArgument', ['"nfsé.example"']],
    ['relative share', { ...base, share: 'export' }, 'InvalidArgument', ['"export"', 'absolute']],
    ['share with ..', { ...base, share: '/export/../etc' }, 'InvalidArgument', ['"/export/../etc"', '".."']],
    ['share with .', { ...base, share: '/export/./x' }, 'InvalidArgument', ['"."']],
    ['share with NUL', { ...base, share: '/exp\0ort' }, 'InvalidArgument', ['"/exp\\u0000ort"', 'NUL']],
    ['share too long', { ...base, share: `/${'a/'.repeat(520)}` }, 'InvalidArgument', ['1024 bytes']],
    ['empty share', { ...base, share: '' }, 'InvalidArgument', ['share is empty']],
    ['empty subDir', { ...base, subDir: '' }, 'InvalidArgument', ['subDir is empty']],
    [
      'absolute subDir',
      { ...base, subDir: '/srv/${pvc.metadata.name}' },
      'InvalidArgument',
      ['"/srv/', 'relative'],
    ],
    [
      'subDir climbing out',
      { ...base, subDir: '../${pvc.metadata.name}' },
      'InvalidArgument',
      ['"../${pvc', '".."'],
    ],
    ['subDir with .', { ...base, subDir: 'a/./b' }, 'InvalidArgument', ['"."']],
    ['subDir with //', { ...base, subDir: 'a//${pvc.metadata.name}' }, 'InvalidArgument', ['empty segment']],
    ['subDir trailing /', { ...base, subDir: 'a/' }, 'InvalidArgument', ['empty segment']],
    ['subDir with NUL', { ...base, subDir: 'a\0b' }, 'InvalidArgument', ['NUL']],
    [
      'subDir in reserved dir',
      { ...base, subDir: '.warren/${pvc.metadata.name}' },
      'InvalidArgument',
      ['".warren"'],
    ],
    [
      'unknown variable',
      { ...base, subDir: '${pvc.metadata.nope}' },
      'InvalidArgument',
      ['"${pvc.metadata.nope}"'],
    ],
    [
      'unterminated variable',
      { ...base, subDir: 'x-${pvc.metadata.name' },
      'InvalidArgument',
      ['unterminated'],
    ],
    [
      'unknown onDelete',
      { ...base, onDelete: 'destroy' },
      'InvalidArgument',
      ['onDelete="destroy"', 'archive'],
    ],
    ['empty onDelete', { ...base, onDelete: '' }, 'InvalidArgument', ['onDelete=""']],
    ['hex mode', { ...base, mode: '0x1ff' }, 'InvalidArgument', ['mode="0x1ff"', 'octal']],
    ['non-octal digit', { ...base, mode: '0789' }, 'InvalidArgument', ['mode="0789"']],
    ['negative mode', { ...base, mode: '-1' }, 'InvalidArgument', ['mode="-1"']],
    ['mode above 07777', { ...base, mode: '10000' }, 'InvalidArgument', ['mode="10000"', '07777']],
    ['0o mode', { ...base, Mode: '0o770' }, 'InvalidArgument', ['Mode="0o770"']],
    ['padded mode', { ...base, mode: ' 770' }, 'InvalidArgument', ['mode=" 770"']],
    ['empty mode', { ...base, mode: '' }, 'InvalidArgument', ['mode=""']],
    ['negative uid', { ...base, uid: '-1' }, 'InvalidArgument', ['uid="-1"', '2147483647']],
    ['fractional uid', { ...base, uid: '1.5' }, 'InvalidArgument', ['uid="1.5"']],
    ['uid too large', { ...base, uid: '2147483648' }, 'InvalidArgument', ['uid="2147483648"']],
    ['uid with leading zero', { ...base, uid: '0770' }, 'InvalidArgument', ['uid="0770"', 'leading zeros']],
    ['uid by name', { ...base, uid: 'root' }, 'InvalidArgument', ['uid="root"']],
    ['uid in exponent form', { ...base, uid: '1e3' }, 'InvalidArgument', ['uid="1e3"']],
    ['padded gid', { ...base, GID: ' 1' }, 'InvalidArgument', ['GID=" 1"']],
    ['empty gid', { ...base, gid: '' }, 'InvalidArgument', ['gid=""']],
  ];
  it.each(hostile)('rejects %s', (_name, params, kind, fragments) => {
    expectWarrenError(() => parseClassParameters(params), kind, ...fragments);
  });
});
