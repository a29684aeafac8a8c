// Stage 1: topic and bytes → parsed JSON with its topic parts, or a reject reason.
import { ID_PATTERN, INGEST_CHANNELS, KINDS, type Kind, MAX_PAYLOAD_BYTES, RejectReason, TOPIC_ROOT } from '../schema.js';
import { type Decoded, type InboundMessage, ok, rejected, type StageResult } from './types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const NON_FINITE_TOKEN = /(^|[^A-Za-z"])-?(NaN|Infinity)([^A-Za-z"]|$)/;

type TopicParts = Pick<Decoded, 'channel' | 'site' | 'kind' | 'asset'>;

/**
 * Topics already accepted, with their parts: a device publishes on the same topic every time, and
 * the split and checks cost a fifth of this stage (bench/). Bounded; past the bound it starts over.
 */
const acceptedTopics = new Map<string, TopicParts>();
const ACCEPTED_TOPICS_MAX = 65_536;

function topicParts(topic: string): TopicParts | StageResult<never> {
  const known = acceptedTopics.get(topic);
  if (known !== undefined) return known;
  const parts = topic.split('/');
  if (parts.length !== 5 || parts[0] !== TOPIC_ROOT || !(INGEST_CHANNELS as readonly string[]).includes(parts[4]!)) {
    return rejected(RejectReason.TOPIC_BAD_FORMAT, 'expected hydrowatch/{site}/{kind}/{asset}/telemetry|status|command');
  }
  const [, site = '', kind = '', asset = '', channel] = parts;
  if (!(KINDS as readonly string[]).includes(kind)) {
    return rejected(RejectReason.TOPIC_UNKNOWN_KIND, `kind must be one of ${KINDS.join(', ')}`);
  }
  if (!ID_PATTERN.test(site) || !ID_PATTERN.test(asset)) {
    return rejected(RejectReason.TOPIC_BAD_ID, 'site and asset are 1–64 characters of A–Z a–z 0–9 _ . -');
  }
  if (acceptedTopics.size >= ACCEPTED_TOPICS_MAX) acceptedTopics.clear();
  const accepted: TopicParts = { channel: channel as Decoded['channel'], site, kind: kind as Kind, asset };
  acceptedTopics.set(topic, accepted);
  return accepted;
}

export function decode(message: InboundMessage): StageResult<Decoded> {
  const topic = topicParts(message.topic);
  if ('ok' in topic) return topic;
  const { channel, site, kind, asset } = topic;
  if (message.payload.length > MAX_PAYLOAD_BYTES) {
    return rejected(RejectReason.PAYLOAD_TOO_LARGE, `payload is ${message.payload.length} bytes, limit ${MAX_PAYLOAD_BYTES}`);
  }
  let text: string;
  try {
    text = utf8.decode(message.payload);
  } catch {
    return rejected(RejectReason.PAYLOAD_NOT_UTF8, 'payload is not valid UTF-8');
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    // Devices with broken firmware send NaN/Infinity literals, which JSON has no words for.
    if (NON_FINITE_TOKEN.test(text)) return rejected(RejectReason.PAYLOAD_NOT_FINITE, 'NaN or Infinity is not a reading');
    return rejected(RejectReason.PAYLOAD_BAD_JSON, `not JSON: ${error instanceof Error ? error.message : 'parse error'}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return rejected(RejectReason.PAYLOAD_NOT_OBJECT, 'payload must be a JSON object');
  }
  return ok({ channel, site, kind, asset, body, receivedAt: message.receivedAt });
}
