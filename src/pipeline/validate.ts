// Stage 2: parsed JSON → a typed Reading or StatusUpdate, checked against the one schema.
import type { z } from 'zod';
import { CommandPayload, MAX_FUTURE_MS, parseTelemetryFast, RejectReason, StatusPayload, TelemetryPayload } from '../schema.js';
import { type Clock, type Decoded, ok, rejected, type StageResult, type Validated } from './types.js';

export function validate(decoded: Decoded, clock: Clock): StageResult<Validated> {
  const { site, kind, asset } = decoded;
  if (decoded.channel === 'status') {
    const status = StatusPayload.safeParse(decoded.body);
    if (!status.success) return rejected(RejectReason.PAYLOAD_BAD_STATUS, 'status payload must be {"online": true|false}');
    return ok({ channel: 'status', status: { site, kind, asset, online: status.data.online, ts: decoded.receivedAt } });
  }
  if (decoded.channel === 'command') {
    const command = CommandPayload.safeParse(decoded.body);
    if (!command.success) return rejected(RejectReason.PAYLOAD_BAD_COMMAND, 'command payload must be {"command": "start"|"stop"}');
    // A command carries its own time when it has one: replayed or backfilled feeds are judged in their time.
    return ok({ channel: 'command', command: { site, kind, asset, command: command.data.command, ts: command.data.ts ?? decoded.receivedAt } });
  }
  const fast = parseTelemetryFast(kind, decoded.body);
  const parsed = fast ? { success: true as const, data: fast } : TelemetryPayload[kind].safeParse(decoded.body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return rejected(reasonFor(issue, decoded.body as Record<string, unknown>), describe(issue));
  }
  const { ts, seq, values } = parsed.data;
  if (ts > clock.now() + MAX_FUTURE_MS) {
    return rejected(RejectReason.PAYLOAD_FUTURE_TS, `ts is ${Math.round((ts - clock.now()) / 1000)} s in the future`);
  }
  return ok({ channel: 'telemetry', reading: seq === undefined ? { site, kind, asset, ts, values } : { site, kind, asset, ts, seq, values } });
}

function reasonFor(issue: z.core.$ZodIssue, body: Record<string, unknown>): RejectReason {
  const [top, field] = issue.path;
  if (top === 'ts') return body.ts === undefined ? RejectReason.PAYLOAD_MISSING_TS : RejectReason.PAYLOAD_BAD_TS;
  if (top === 'seq') return RejectReason.PAYLOAD_BAD_SEQ;
  if (top !== 'values') return RejectReason.PAYLOAD_NOT_OBJECT;
  if (field === undefined) {
    if (issue.code === 'unrecognized_keys') return RejectReason.PAYLOAD_UNKNOWN_FIELD;
    if (body.values === undefined || issue.code === 'custom') return RejectReason.PAYLOAD_NO_VALUES;
    return RejectReason.PAYLOAD_WRONG_TYPE;
  }
  const value = (body.values as Record<string, unknown>)[field as string];
  if (typeof value === 'number' && !Number.isFinite(value)) return RejectReason.PAYLOAD_NOT_FINITE;
  if (issue.code === 'too_big' || issue.code === 'too_small') return RejectReason.PAYLOAD_OUT_OF_RANGE;
  return RejectReason.PAYLOAD_WRONG_TYPE;
}

function describe(issue: z.core.$ZodIssue): string {
  const where = issue.path.map(String).join('.') || 'payload';
  if (issue.code === 'unrecognized_keys') return `${where}: unknown field(s) ${issue.keys.join(', ')}`;
  return `${where}: ${issue.message}`;
}
