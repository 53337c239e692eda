// The bundle's descriptors (hack/proto-json.ts) load to the same gRPC definitions as the .proto
// files they come from: the same names, the same methods, the same bytes on the wire.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromJSON, loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { protoNames, writeProtoJson } from '../../hack/proto-json.ts';
import { loaderOptions } from '../../src/csi/load.ts';

const dir = mkdtempSync(join(tmpdir(), 'warren-proto-json-'));
writeProtoJson(dir);
const proto = join(import.meta.dirname, '..', '..', 'proto');

describe.each(protoNames)('proto/%s.json', (name) => {
  const parsed = loadSync(join(proto, `${name}.proto`), loaderOptions);
  const fromJson = fromJSON(
    JSON.parse(readFileSync(join(dir, 'proto', `${name}.json`), 'utf8')),
    loaderOptions,
  );

  it('defines the same names', () => {
    expect(Object.keys(fromJson).sort()).toEqual(Object.keys(parsed).sort());
  });

  it('gives every service the same methods, streaming alike', () => {
    const methods = (def: typeof parsed) =>
      Object.entries(def)
        .filter(([, v]) => !('format' in v))
        .flatMap(([, service]) =>
          Object.values(service as Record<string, MethodDefinition<object, object>>).map(
            (m) => `${m.path} ${m.requestStream} ${m.responseStream}`,
          ),
        )
        .sort();
    expect(methods(fromJson)).toEqual(methods(parsed));
    expect(methods(parsed).length).toBeGreaterThan(0);
  });
});

describe('the CSI wire format', () => {
  it('a NodePublishVolumeRequest encodes to the same bytes and decodes to the same object', () => {
    const path = '/csi.v1.Node/NodePublishVolume';
    const method = (def: ReturnType<typeof loadSync>) =>
      (def['csi.v1.Node'] as Record<string, MethodDefinition<object, object>>)
        .NodePublishVolume as MethodDefinition<object, object>;
    const parsed = method(loadSync(join(proto, 'csi.proto'), loaderOptions));
    const fromJson = method(
      fromJSON(JSON.parse(readFileSync(join(dir, 'proto', 'csi.json'), 'utf8')), loaderOptions),
    );
    expect(fromJson.path).toBe(path);
    const request = {
      volume_id: 'v1',
      target_path: '/var/lib/kubelet/pods/x/mount',
      readonly: true,
      volume_capability: {
        mount: { fs_type: 'nfs', mount_flags: ['vers=4.1'] },
        access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' },
      },
      volume_context: { server: 'nfs.example.com', share: '/export' },
      secrets: { token: 's' },
    };
    const bytes = fromJson.requestSerialize(request);
    expect(bytes).toEqual(parsed.requestSerialize(request));
    expect(fromJson.requestDeserialize(bytes)).toEqual(parsed.requestDeserialize(bytes));
  });
});
