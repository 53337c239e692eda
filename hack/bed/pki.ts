// Certificates for a throwaway control plane: one CA, the apiserver's serving cert for
// 127.0.0.1, an admin client cert in system:masters, and the service-account key pair; later,
// client certs signed by the same CA (a node's kubelet).

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export interface Pki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function makePki(dir: string): Promise<Pki> {
  const p = (name: string) => join(dir, name);
  const pki: Pki = {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('apiserver.crt'),
    serverKey: p('apiserver.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    serviceAccountKey: p('sa.key'),
    serviceAccountPub: p('sa.pub'),
  };
  await openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    pki.caKey,
    '-out',
    pki.caCert,
    '-days',
    '30',
    '-subj',
    '/CN=warren-bed-ca',
  ]);
  await signed(
    dir,
    pki,
    'apiserver',
    '/CN=kube-apiserver',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth',
  );
  await signed(dir, pki, 'admin', '/O=system:masters/CN=warren-admin', 'extendedKeyUsage=clientAuth');
  await openssl([
    'genpkey',
    '-algorithm',
    'RSA',
    '-pkeyopt',
    'rsa_keygen_bits:2048',
    '-out',
    pki.serviceAccountKey,
  ]);
  await openssl(['pkey', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPub]);
  return pki;
}

/** A client certificate (clientAuth) for SUBJECT signed by the bed's CA: DIR/NAME.crt and .key. */
export async function makeClientCert(
  dir: string,
  ca: Pick<Pki, 'caCert' | 'caKey'>,
  name: string,
  subject: string,
): Promise<{ cert: string; key: string }> {
  await signed(dir, ca, name, subject, 'extendedKeyUsage=clientAuth');
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

async function signed(
  dir: string,
  ca: Pick<Pki, 'caCert' | 'caKey'>,
  name: string,
  subject: string,
  extensions: string,
): Promise<void> {
  const p = (file: string) => join(dir, file);
  const csr = p(`${name}.csr`);
  await openssl(['req', ...ec, '-keyout', p(`${name}.key`), '-out', csr, '-subj', subject]);
  const extfile = p(`${name}.ext`);
  await writeFile(extfile, `${extensions}\n`);
  await openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.caCert,
    '-CAkey',
    ca.caKey,
    '-CAcreateserial',
    '-days',
    '30',
    '-out',
    p(`${name}.crt`),
    '-extfile',
    extfile,
  ]);
}

async function openssl(args: string[]): Promise<void> {
  await execa('openssl', args);
}
