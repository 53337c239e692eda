// Loads proto/csi.proto once with the options the generated types in ./generated assume
// (keep that list in step with the `gen:proto` script in package.json).
//
// The gRPC service definitions are built here from protobufjs's reflection, the way
// @grpc/proto-loader builds them (same paths, same serializers), without the rest of what
// proto-loader makes at load: a descriptor of every message and every file, encoded, which
// nothing here reads. Measured from the bundle on Node 24: proto-loader's fromJSON of csi.json
// took 101-125 ms and left 8 MB more RSS than protobufjs's Root.fromJSON alone (42-51 ms), most
// of it the optimizing compilers' work on its descriptor encoding. test/unit/proto-json.test.ts
// holds these definitions to proto-loader's.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadPackageDefinition, type MethodDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { findProtoFile, protoFile } from '../shipped.ts';
import type { ProtoGrpcType } from './generated/csi.ts';

type PackageDefinition = Parameters<typeof loadPackageDefinition>[0];

/** proto-loader's options for the generated types: field names as written, 64-bit ints and enums as strings. */
export const loaderOptions = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
} as const;

/**
 * proto/<name>: read from its descriptor as JSON where the build wrote one (the bundle's
 * dist/proto/, see hack/proto-json.ts), which saves parsing the .proto at start; else the .proto.
 */
export function loadProtoRoot(name: string): protobuf.Root {
  const json = findProtoFile(`${name}.json`, import.meta.url);
  const root = json ? protobuf.Root.fromJSON(JSON.parse(readFileSync(json, 'utf8'))) : parseProto(name);
  root.resolveAll();
  return root;
}

/** proto/<name>.proto parsed, field names as written (proto-loader's keepCase). */
export function parseProto(name: string): protobuf.Root {
  // google/protobuf/descriptor.proto (csi.proto imports it for its options), from protobufjs's own
  // copy as proto-loader takes it; read only here, since the bundle's descriptors leave it out.
  const descriptor = createRequire(import.meta.url)('protobufjs/google/protobuf/descriptor.json');
  protobuf.common('descriptor', descriptor.nested.google.nested.protobuf.nested);
  return new protobuf.Root().loadSync(protoFile(`${name}.proto`, import.meta.url), { keepCase: true });
}

/** proto/<name>'s services, for grpc-js `loadPackageDefinition` (servers and clients alike). */
export function loadProtoDefinition(name: string): PackageDefinition {
  return serviceDefinitions(loadProtoRoot(name));
}

/** Every service under root, by full name (`csi.v1.Node`), as grpc-js method definitions. */
export function serviceDefinitions(root: protobuf.Root): PackageDefinition {
  const found: PackageDefinition = {};
  const visit = (ns: protobuf.NamespaceBase) => {
    for (const child of ns.nestedArray) {
      if (child instanceof protobuf.Service) found[child.fullName.slice(1)] = serviceDefinition(child);
      else if (child instanceof protobuf.Namespace || child instanceof protobuf.Type) visit(child);
    }
  };
  visit(root);
  return found;
}

function serviceDefinition(service: protobuf.Service): ServiceDefinition {
  const definition: Record<string, MethodDefinition<object, object>> = {};
  const servicePath = service.fullName.slice(1);
  for (const method of service.methodsArray) {
    const request = method.resolvedRequestType;
    const response = method.resolvedResponseType;
    if (!request || !response) throw new Error(`${servicePath}.${method.name}: types not resolved`);
    const m: MethodDefinition<object, object> & { originalName: string } = {
      path: `/${servicePath}/${method.name}`,
      requestStream: Boolean(method.requestStream),
      responseStream: Boolean(method.responseStream),
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request),
      responseSerialize: serializer(response),
      responseDeserialize: deserializer(response),
      // grpc-js also accepts a handler under this name, as proto-loader names it (lodash camelCase).
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
    definition[method.name] = m;
  }
  return definition;
}

function serializer(type: protobuf.Type): (value: object) => Buffer {
  return (value) => {
    if (Array.isArray(value)) throw new Error(`${type.name}: an object serializes, not an array`);
    // A Buffer under Node (protobufjs's BufferWriter), as proto-loader hands it to grpc-js.
    return type.encode(type.fromObject(value)).finish() as Buffer;
  };
}

function deserializer(type: protobuf.Type): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), loaderOptions);
}

export type CsiServiceName = 'Identity' | 'Controller' | 'Node';

export interface CsiProto {
  /** Service definitions for grpc-js `Server.addService`. */
  services: Record<CsiServiceName, ServiceDefinition>;
  /** The whole package, for building clients (tests, probes). */
  grpc: ProtoGrpcType;
}

let cached: CsiProto | undefined;

export function loadCsiProto(): CsiProto {
  if (cached) return cached;
  const definitions = loadProtoDefinition('csi');
  const service = (name: CsiServiceName) => definitions[`csi.v1.${name}`] as ServiceDefinition;
  cached = {
    grpc: loadPackageDefinition(definitions) as unknown as ProtoGrpcType,
    services: { Identity: service('Identity'), Controller: service('Controller'), Node: service('Node') },
  };
  return cached;
}
