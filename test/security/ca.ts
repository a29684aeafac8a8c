// A throwaway certificate authority made with the openssl CLI: a CA, a server certificate for
// 127.0.0.1/localhost, and a client certificate, in a temporary directory removed afterwards.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureDebianPackages } from '../../src/dev/apt.js';

const run = promisify(execFile);

export interface TestCa {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** PEM contents, for clients. */
  pem: { ca: Buffer; clientCert: Buffer; clientKey: Buffer };
  remove(): Promise<void>;
}

export async function makeTestCa(): Promise<TestCa> {
  const { openssl } = await ensureDebianPackages({ openssl: 'openssl' });
  const dir = await mkdtemp(join(tmpdir(), 'hydrowatch-ca-'));
  const path = (name: string) => join(dir, name);
  const ssl = (args: string[]) => run(openssl, args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  await ssl(['req', '-x509', ...ec, '-keyout', path('ca.key'), '-out', path('ca.crt'), '-days', '2', '-subj', '/CN=hydrowatch test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const issue = async (name: string, subject: string, extensions: string) => {
    await writeFile(path(`${name}.ext`), extensions);
    await ssl(['req', ...ec, '-keyout', path(`${name}.key`), '-out', path(`${name}.csr`), '-subj', subject]);
    await ssl(['x509', '-req', '-in', path(`${name}.csr`), '-CA', path('ca.crt'), '-CAkey', path('ca.key'), '-CAcreateserial',
      '-out', path(`${name}.crt`), '-days', '2', '-extfile', path(`${name}.ext`)]);
  };
  await issue('server', '/CN=localhost', 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await issue('client', '/CN=plant1-rtu', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');

  return {
    dir,
    caCert: path('ca.crt'),
    serverCert: path('server.crt'),
    serverKey: path('server.key'),
    clientCert: path('client.crt'),
    clientKey: path('client.key'),
    pem: { ca: await readFile(path('ca.crt')), clientCert: await readFile(path('client.crt')), clientKey: await readFile(path('client.key')) },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
