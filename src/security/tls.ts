// TLS for the embedded broker (mqtts, 8883) and the API (https): PEM files from the config,
// checked at start so a wrong path or a key that does not match its certificate is one clear line.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { createSecureContext, createServer, type Server, type TlsOptions } from 'node:tls';
import { ConfigError } from '../config.js';
import type { TlsFilesConfig } from './config.js';

/** Server options from PEM files; `ca` set means clients must present a certificate it signed. */
export function tlsServerOptions(files: TlsFilesConfig, key: string): TlsOptions {
  const read = (which: 'cert' | 'key' | 'ca', path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(`config: ${key}.${which}: cannot read ${path} (${code ?? String(error)})`);
    }
  };
  const options: TlsOptions = {
    cert: read('cert', files.cert),
    key: read('key', files.key),
    minVersion: 'TLSv1.2',
    ...(files.ca ? { ca: read('ca', files.ca), requestCert: true, rejectUnauthorized: true } : {}),
  };
  try {
    createSecureContext(options);
  } catch (error) {
    throw new ConfigError(`config: ${key}: ${files.cert} and ${files.key} do not make a usable certificate (${error instanceof Error ? error.message : String(error)})`);
  }
  return options;
}

/** A TLS listener that hands each connection to `handle` once the handshake is done. */
export async function listenTls(options: TlsOptions, port: number, host: string, handle: (socket: Socket) => unknown, onClientError?: (error: Error) => void): Promise<Server> {
  const server = createServer(options, (socket) => handle(socket));
  // A client that does not trust us, or sends no certificate when one is required, fails here.
  server.on('tlsClientError', (error) => onClientError?.(error));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
