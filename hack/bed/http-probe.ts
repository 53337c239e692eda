// Readiness probes over HTTP(S): true on a 2xx answer, false on anything else.

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface TlsClient {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Accept any server certificate (for components whose self-signed cert we did not make). */
  insecure?: boolean;
}

export function probe(url: string, tls: TlsClient = {}, timeoutMs = 2_000): Promise<boolean> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(
      url,
      { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecure, timeout: timeoutMs },
      (res) => {
        res.resume();
        resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
