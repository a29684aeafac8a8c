// Loopback port helpers for the local servers that dev tooling and tests start.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** Called before every attempt; throw from it to give up early (e.g. the server process died). */
  check?: () => void;
  /** Pause between attempts in ms. */
  intervalMs?: number;
}

/** Ports freePort() handed out in this process: the kernel may offer a just-closed one again. */
const handedOut = new Set<number>();

/**
 * Asks the kernel for a free TCP port on 127.0.0.1 (bind to port 0, read it, close), never one it
 * already gave this process: two servers of one test (an MQTT and an HTTP port) once got the same.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await kernelPort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('freePort: the kernel kept offering ports already handed out');
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close((err) => {
        if (err) reject(err);
        else if (port > 0) resolve(port);
        else reject(new Error('freePort: the kernel returned no port'));
      });
    });
  });
}

/** True when a TCP connection to host:port succeeds within timeoutMs. */
export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Resolves once host:port accepts TCP connections; rejects after timeoutMs. */
export async function waitForPort(
  port: number,
  timeoutMs: number,
  opts: WaitOptions & { host?: string } = {},
): Promise<void> {
  const host = opts.host ?? '127.0.0.1';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    opts.check?.();
    if (await canConnect(port, host, Math.min(1_000, Math.max(50, deadline - Date.now())))) return;
    if (Date.now() >= deadline) throw new Error(`${host}:${port} did not accept connections within ${timeoutMs} ms`);
    await sleep(opts.intervalMs ?? 50);
  }
}

/** Resolves once GET url answers with an accepted status (default: any 2xx); rejects after timeoutMs. */
export async function waitForHttp(
  url: string,
  timeoutMs: number,
  opts: WaitOptions & { accept?: (status: number) => boolean } = {},
): Promise<void> {
  const accept = opts.accept ?? ((status: number) => status >= 200 && status < 300);
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    opts.check?.();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(Math.min(2_000, Math.max(100, deadline - Date.now()))) });
      await res.arrayBuffer(); // drain the body so the socket is released
      if (accept(res.status)) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) throw new Error(`${url} not ready within ${timeoutMs} ms (last: ${last})`);
    await sleep(opts.intervalMs ?? 50);
  }
}
