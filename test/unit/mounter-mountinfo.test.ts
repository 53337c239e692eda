import { describe, expect, it } from 'vitest';
import { parseMountInfo, topMountAt, unescapeMountField } from '../../src/node/mounter.ts';

const sample = [
  '22 1 0:21 / / rw,relatime shared:1 - overlay overlay rw,lowerdir=/l,upperdir=/u',
  '36 22 0:33 / /var/lib/kubelet/pods/a\\040b/mount rw,relatime shared:7 master:2 - nfs4 10.0.2.2:/export/sub\\0401 rw,vers=4.1,addr=10.0.2.2',
  '37 22 0:34 /sub /mnt/tab\\011and\\012newline\\134slash ro,nosuid - nfs [fd00::1]:/srv/nfs ro,vers=3',
  'garbage line',
  '',
  '38 22 0:35 / /mnt/stack rw - tmpfs tmpfs rw',
  '39 38 0:36 / /mnt/stack rw - nfs4 srv:/export rw',
].join('\n');

describe('mountinfo', () => {
  it('decodes octal escapes', () => {
    expect(unescapeMountField('a\\040b\\011c\\012d\\134e')).toBe('a b\tc\nd\\e');
    expect(unescapeMountField('no escapes')).toBe('no escapes');
    expect(unescapeMountField('\\04')).toBe('\\04');
  });

  it('parses lines with and without optional fields and skips malformed ones', () => {
    const entries = parseMountInfo(sample);
    expect(entries.map((e) => e.mountId)).toEqual([22, 36, 37, 38, 39]);
    expect(entries[1]).toEqual({
      mountId: 36,
      parentId: 22,
      root: '/',
      mountPoint: '/var/lib/kubelet/pods/a b/mount',
      mountOptions: ['rw', 'relatime'],
      fsType: 'nfs4',
      source: '10.0.2.2:/export/sub 1',
      superOptions: ['rw', 'vers=4.1', 'addr=10.0.2.2'],
    });
    expect(entries[2]).toMatchObject({
      root: '/sub',
      mountPoint: '/mnt/tab\tand\nnewline\\slash',
      mountOptions: ['ro', 'nosuid'],
      fsType: 'nfs',
      source: '[fd00::1]:/srv/nfs',
    });
  });

  it('finds the topmost of mounts stacked on one path', () => {
    const entries = parseMountInfo(sample);
    expect(topMountAt(entries, '/mnt/stack')?.mountId).toBe(39);
    expect(topMountAt(entries, '/var/lib/kubelet/pods/a b/mount')?.fsType).toBe('nfs4');
    expect(topMountAt(entries, '/mnt/none')).toBeUndefined();
  });

  it('reads this process mount table', async () => {
    const { readFile } = await import('node:fs/promises');
    const entries = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
    expect(topMountAt(entries, '/')).toBeDefined();
  });
});
