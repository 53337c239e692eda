// The service definitions src/csi/load.ts builds, from the bundle's descriptors (hack/proto-json.ts)
// and from the .proto files alike, equal @grpc/proto-loader's for the .proto files: the same
// services, the same methods, the same bytes on the wire.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { protoNames, wireOnly, writeProtoJson } from '../../hack/proto-json.ts';
import { loaderOptions, loadProtoRoot, serviceDefinitions } from '../../src/csi/load.ts';

const dir = mkdtempSync(join(tmpdir(), 'warren-proto-json-'));
writeProtoJson(dir);
const proto = join(import.meta.dirname, '..', '..', 'proto');

type Definitions = Record<string, unknown>;
const fromJson = (name: string): Definitions => {
  const root = protobuf.Root.fromJSON(JSON.parse(readFileSync(join(dir, 'proto', `${name}.json`), 'utf8')));
  root.resolveAll();
  return serviceDefinitions(root);
};
const fromProto = (name: string): Definitions => serviceDefinitions(loadProtoRoot(name));
const protoLoader = (name: string): Definitions => loadSync(join(proto, `${name}.proto`), loaderOptions);

/** Each method as a line: path, streaming, the camelCase name grpc-js also accepts. */
function methods(def: Definitions): string[] {
  return Object.entries(def)
    .filter(([, v]) => !('format' in (v as object)))
    .flatMap(([service, methods]) =>
      Object.entries(methods as Record<string, MethodDefinition<object, object>>).map(
        ([name, m]) =>
          `${service} ${name} ${m.path} ${m.requestStream} ${m.responseStream} ${m.originalName}`,
      ),
    )
    .sort();
}

describe.each(protoNames)('proto/%s', (name) => {
  it('has the services and methods proto-loader finds, from its JSON and from its .proto', () => {
    const expected = methods(protoLoader(name));
    expect(expected.length).toBeGreaterThan(0);
    expect(methods(fromJson(name))).toEqual(expected);
    expect(methods(fromProto(name))).toEqual(expected);
  });
});

describe('the CSI wire format', () => {
  const method = (def: Definitions) =>
    (def['csi.v1.Node'] as Record<string, MethodDefinition<object, object>>)
      .NodePublishVolume as MethodDefinition<object, object>;
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

  it.each([
    ['its JSON', fromJson],
    ['its .proto', fromProto],
  ])('a NodePublishVolumeRequest from %s encodes and decodes as proto-loader does', (_, load) => {
    const ours = method(load('csi'));
    const theirs = method(protoLoader('csi'));
    expect(ours.path).toBe('/csi.v1.Node/NodePublishVolume');
    const bytes = ours.requestSerialize(request);
    expect(bytes).toEqual(theirs.requestSerialize(request));
    expect(ours.requestDeserialize(bytes)).toEqual(theirs.requestDeserialize(bytes));
    // Defaults filled in and enums as names, as the generated types say.
    expect(ours.requestDeserialize(theirs.requestSerialize({ volume_id: 'v2' }))).toEqual(
      theirs.requestDeserialize(theirs.requestSerialize({ volume_id: 'v2' })),
    );
  });

  it('refuses an array where a message belongs, as proto-loader does', () => {
    expect(() => method(fromJson('csi')).requestSerialize([] as unknown as object)).toThrow();
    expect(() => method(protoLoader('csi')).requestSerialize([] as unknown as object)).toThrow();
  });
});

describe('wireOnly', () => {
  const message = (fields: object, extra: object = {}) => ({ fields, ...extra });
  const descriptor = {
    nested: {
      demo: {
        nested: {
          secret: { type: 'bool', id: 1059, extend: 'google.protobuf.FieldOptions' },
          Request: message(
            {
              // A field may be called options: it is a name here, not an annotation.
              options: { type: 'string', id: 1 },
              token: { type: 'string', id: 2, options: { '(secret)': true } },
              at: { type: 'google.protobuf.Timestamp', id: 3 },
            },
            { options: { deprecated: true } },
          ),
          Mode: { values: { A: 0, B: 1 }, valuesOptions: { B: { '(secret)': true } } },
          Svc: {
            methods: {
              Call: {
                requestType: 'Request',
                responseType: '.google.protobuf.BoolValue',
                options: { '(secret)': true },
                parsedOptions: [{ '(secret)': true }],
              },
            },
          },
        },
      },
      google: {
        nested: {
          protobuf: {
            nested: {
              FieldOptions: message({ deprecated: { type: 'bool', id: 3 } }),
              Timestamp: message({ seconds: { type: 'int64', id: 1 } }),
              BoolValue: message({ value: { type: 'bool', id: 1 } }),
              Int64Value: message({ value: { type: 'int64', id: 1 } }),
            },
          },
        },
      },
    },
  };

  it('drops annotations, their extensions and the google.protobuf types nothing uses, and nothing else', () => {
    expect(wireOnly(descriptor)).toEqual({
      nested: {
        demo: {
          nested: {
            Request: message({
              options: { type: 'string', id: 1 },
              token: { type: 'string', id: 2 },
              at: { type: 'google.protobuf.Timestamp', id: 3 },
            }),
            Mode: { values: { A: 0, B: 1 } },
            Svc: {
              methods: { Call: { requestType: 'Request', responseType: '.google.protobuf.BoolValue' } },
            },
          },
        },
        google: {
          nested: {
            protobuf: {
              nested: {
                Timestamp: message({ seconds: { type: 'int64', id: 1 } }),
                BoolValue: message({ value: { type: 'bool', id: 1 } }),
              },
            },
          },
        },
      },
    });
  });

  it("leaves csi.proto's descriptor without descriptor.proto and its CSI annotations", () => {
    const json = readFileSync(join(dir, 'proto', 'csi.json'), 'utf8');
    expect(json).not.toMatch(/FieldOptions|csi_secret|alpha_/);
    expect(Object.keys(JSON.parse(json).nested.google.nested.protobuf.nested).sort()).toEqual([
      'BoolValue',
      'Int64Value',
      'Timestamp',
    ]);
  });
});
