// Who may publish and subscribe to what on the embedded broker: pure functions, no I/O.
// Anything not allowed here is denied.
import { ID_PATTERN, KINDS, type Kind, TOPIC_ROOT } from '../schema.js';

/**
 * What a credential covers. A device: one asset. A site credential (a gateway or RTU that
 * speaks for every asset of its site): `kind`/`asset` left out. A monitor: reads under
 * `hydrowatch/#` (dashboards, bridges, the alert topics), publishes nothing.
 */
export type Scope =
  | { role: 'device'; site: string; kind: Kind; asset: string }
  | { role: 'device'; site: string; kind?: undefined; asset?: undefined }
  | { role: 'monitor' };

/** The channels a device publishes on (design §2): readings, its online state, and the start/stop
 * commands its own controller (or a site's SCADA gateway) announces, so a commanded stop is no trip. */
export const DEVICE_CHANNELS = ['telemetry', 'status', 'command'] as const;
/** The topic level under which a device receives commands: `hydrowatch/{site}/{kind}/{asset}/command[/…]`. */
export const COMMAND_CHANNEL = 'command';
/** `hydrowatch/alerts/…` is the service's own (design §2): no device may publish there, and no site may be called so. */
export const RESERVED_SITES = ['alerts'] as const;

const isKind = (level: string): level is Kind => (KINDS as readonly string[]).includes(level);
const hasWildcard = (level: string): boolean => level.includes('+') || level.includes('#');

/** A device publishes only on its own asset's (a site credential: its site's) channels, with no wildcard. */
export function canPublish(scope: Scope, topic: string): boolean {
  if (scope.role !== 'device') return false;
  const levels = topic.split('/');
  if (levels.length !== 5 || levels.some(hasWildcard)) return false;
  const [root, site, kind, asset, channel] = levels as [string, string, string, string, string];
  return (
    root === TOPIC_ROOT &&
    site === scope.site &&
    !(RESERVED_SITES as readonly string[]).includes(site) &&
    isKind(kind) &&
    (scope.kind === undefined || kind === scope.kind) &&
    ID_PATTERN.test(asset) &&
    (scope.asset === undefined || asset === scope.asset) &&
    (DEVICE_CHANNELS as readonly string[]).includes(channel)
  );
}

/**
 * A device subscribes only to its own command topic (and levels below it); a site credential to
 * the command topics of its site (`+` may stand for its kind and asset). A monitor subscribes to
 * anything under `hydrowatch/`. `$SYS`, `$share` and filters starting with a wildcard are denied.
 */
export function canSubscribe(scope: Scope, filter: string): boolean {
  const levels = filter.split('/');
  if (!wellFormedFilter(levels)) return false;
  if (scope.role === 'monitor') return levels[0] === TOPIC_ROOT && levels.length >= 2;
  if (levels.length < 5) return false;
  const [root, site, kind, asset, channel] = levels as [string, string, string, string, string];
  const siteWide = scope.kind === undefined;
  return (
    root === TOPIC_ROOT &&
    site === scope.site &&
    (siteWide ? kind === '+' || isKind(kind) : kind === scope.kind) &&
    (siteWide ? asset === '+' || ID_PATTERN.test(asset) : asset === scope.asset) &&
    channel === COMMAND_CHANNEL
  );
}

/** `+` alone in a level, `#` alone and last; no empty filter. */
function wellFormedFilter(levels: string[]): boolean {
  if (levels.length === 0 || levels[0] === '') return false;
  return levels.every((level, i) => {
    if (level === '#') return i === levels.length - 1;
    if (level === '+') return true;
    return !hasWildcard(level);
  });
}

/** One line for logs and the CLI: what a scope may do. */
export function describeScope(scope: Scope): string {
  if (scope.role === 'monitor') return `subscribes under ${TOPIC_ROOT}/#, publishes nothing`;
  const prefix = `${TOPIC_ROOT}/${scope.site}/${scope.kind ?? '+'}/${scope.asset ?? '+'}`;
  return `publishes ${prefix}/${DEVICE_CHANNELS.join('|')}; subscribes ${prefix}/${COMMAND_CHANNEL}`;
}
