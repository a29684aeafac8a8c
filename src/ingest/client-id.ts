// The MQTT client id of the ingestor's persistent session, when MQTT_CLIENT_ID is unset: kept in
// the data directory, so it survives restarts and a changing host name (a container rescheduled
// with a new one) and the broker resumes the same session. Several ingestors on one host each have
// their own data directory (the spool lock makes sure), hence their own id.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFileSync } from '../replace-file.js';
import { defaultClientId } from './mqtt-subscriber.js';

const FILE = 'mqtt-client-id';

export function stableClientId(dataDir: string, shared: boolean): string {
  const path = join(dataDir, FILE);
  if (existsSync(path)) {
    const saved = readFileSync(path, 'utf8').trim();
    if (saved) return saved;
  }
  // One box keeps the id it always had; members of a shared subscription need one each.
  const id = shared ? `${defaultClientId()}-${randomBytes(3).toString('hex')}` : defaultClientId();
  mkdirSync(dataDir, { recursive: true });
  replaceFileSync(path, `${id}\n`);
  return id;
}
