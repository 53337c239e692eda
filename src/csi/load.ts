// Loads proto/csi.proto once with the options the generated types in ./generated assume
// (keep that list in step with the `gen:proto` script in package.json).
import { loadPackageDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import { protoFile } from '../shipped.ts';
import type { ProtoGrpcType } from './generated/csi.ts';

export const protoPath = protoFile('csi.proto', import.meta.url);

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
  const grpc = loadPackageDefinition(loadSync(protoPath, loaderOptions)) as unknown as ProtoGrpcType;
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
