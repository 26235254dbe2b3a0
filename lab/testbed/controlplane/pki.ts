import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOk } from '../exec.ts';

/** Paths of the certificates and keys of one control plane (all under its work dir). */
export interface Pki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saPublicKey: string;
  saPrivateKey: string;
}

/** A client certificate signed by the control plane's CA (e.g. a kubelet's: `/O=system:nodes/CN=system:node:NAME`). */
export function signClientCert(
  pki: Pki,
  dir: string,
  name: string,
  subj: string,
): Promise<{ cert: string; key: string }> {
  return signed(dir, { cert: pki.caCert, key: pki.caKey }, name, subj, 'extendedKeyUsage=clientAuth\n');
}

async function signed(
  dir: string,
  ca: { cert: string; key: string },
  name: string,
  subj: string,
  ext: string,
) {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  await runOk(
    ['openssl', 'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'].concat([
      '-nodes',
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      subj,
    ]),
  );
  await runOk(
    ['openssl', 'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial'].concat([
      '-days',
      '7',
      '-out',
      cert,
      '-extfile',
      extFile,
    ]),
  );
  return { cert, key };
}

/**
 * A throwaway PKI with the openssl CLI: a CA, one serving certificate for etcd
 * and kube-apiserver (SANs 127.0.0.1, localhost and `extraSans`; also a client certificate
 * for the API server's etcd connection), an admin client certificate in
 * system:masters, and the service-account signing key pair.
 */
export async function createPki(dir: string, extraSans: readonly string[] = []): Promise<Pki> {
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  await runOk(
    ['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'].concat([
      '-nodes',
      '-keyout',
      ca.key,
      '-out',
      ca.cert,
      '-days',
      '7',
      '-subj',
      '/CN=meshlb-test-ca',
    ]),
  );
  const server = await signed(
    dir,
    ca,
    'server',
    '/CN=meshlb-test-server',
    `subjectAltName=${['IP:127.0.0.1', 'DNS:localhost', ...extraSans.map((a) => `IP:${a}`)].join(',')}\nextendedKeyUsage=serverAuth,clientAuth\n`,
  );
  const admin = await signed(
    dir,
    ca,
    'admin',
    '/O=system:masters/CN=meshlb-admin',
    'extendedKeyUsage=clientAuth\n',
  );
  const sa = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const saPrivateKey = join(dir, 'sa.key');
  const saPublicKey = join(dir, 'sa.pub');
  writeFileSync(saPrivateKey, sa.privateKey.export({ type: 'sec1', format: 'pem' }));
  writeFileSync(saPublicKey, sa.publicKey.export({ type: 'spki', format: 'pem' }));
  return {
    caCert: ca.cert,
    caKey: ca.key,
    serverCert: server.cert,
    serverKey: server.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    saPublicKey,
    saPrivateKey,
  };
}
