// Loads proto/csi.proto once with the options the generated types in ./generated assume
// (keep that list in step with the `gen:proto` script in package.json).
import { readFileSync } from 'node:fs';
import { loadPackageDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { fromJSON, loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';
import { findProtoFile, protoFile } from '../shipped.ts';
import type { ProtoGrpcType } from './generated/csi.ts';

/**
 * proto/<name>: its descriptor as JSON where the build wrote one (the bundle's dist/proto/, see
 * hack/proto-json.ts), which saves parsing the .proto at start; else the .proto itself.
 */
export function loadProtoDefinition(name: string): PackageDefinition {
  const json = findProtoFile(`${name}.json`, import.meta.url);
  if (json) return fromJSON(JSON.parse(readFileSync(json, 'utf8')), loaderOptions);
  return loadSync(protoFile(`${name}.proto`, import.meta.url), loaderOptions);
}

export const loaderOptions: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

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
  const grpc = loadPackageDefinition(loadProtoDefinition('csi')) as unknown as ProtoGrpcType;
  const v1 = grpc.csi.v1;
  cached = {
    grpc,
    services: {
      Identity: v1.Identity.service as ServiceDefinition,
      Controller: v1.Controller.service as ServiceDefinition,
      Node: v1.Node.service as ServiceDefinition,
    },
  };
  return cached;
}
