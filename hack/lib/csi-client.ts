// CSI clients generated from proto/csi.proto, and a promise wrapper for unary calls.
// Used by the demo and the tests to talk to Warren as kubelet and the sidecars do.
import { type Client, credentials, type ServiceError } from '@grpc/grpc-js';
import type { ControllerClient } from '../../src/csi/generated/csi/v1/Controller.ts';
import type { IdentityClient } from '../../src/csi/generated/csi/v1/Identity.ts';
import type { NodeClient } from '../../src/csi/generated/csi/v1/Node.ts';
import { loadCsiProto } from '../../src/csi/load.ts';

export interface CsiClients {
  identity: IdentityClient;
  controller: ControllerClient;
  node: NodeClient;
  close(): void;
}

export function csiClients(address: string): CsiClients {
  const v1 = loadCsiProto().grpc.csi.v1;
  const target = address.replace(/^tcp:\/\//, '');
  const insecure = credentials.createInsecure();
  const clients = {
    identity: new v1.Identity(target, insecure),
    controller: new v1.Controller(target, insecure),
    node: new v1.Node(target, insecure),
  };
  return {
    ...clients,
    close: () => {
      for (const client of Object.values(clients) as Client[]) client.close();
    },
  };
}

type Callback<Res> = (err: ServiceError | null, response?: Res) => void;

/** Calls a unary RPC: `call(client.CreateVolume.bind(client), request)`. */
export function call<Req, Res>(
  method: (request: Req, callback: Callback<Res>) => unknown,
  request: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, (err, response) => (err ? reject(err) : resolve(response as Res)));
  });
}
