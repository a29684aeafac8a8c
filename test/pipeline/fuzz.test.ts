// Seeded fuzzing of the ingest pipeline, in process: thousands of topics and payloads (random
// bytes, deep JSON, huge strings, numbers at every edge, unicode, line-protocol metacharacters,
// oversize). Nothing throws, every valid reading is spooled exactly as sent, every reject is
// counted under the reason the contract gives, and every spooled line is clean line protocol.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { LiveState } from '../../src/live.js';
import { Metrics } from '../../src/metrics.js';
import { AssetRegistry } from '../../src/pipeline/enrich.js';
import { createPipeline } from '../../src/pipeline/pipeline.js';
import { MemorySpool } from '../../src/pipeline/spool.js';
import { REJECT_REASONS, RejectReason } from '../../src/schema.js';
import { checkSpooledLine, type FuzzCase, FuzzGenerator, FUZZ_NOW, reference } from '../helpers/fuzz-cases.js';

const SEED = 0x5eed_2026;
const DEVICE_REASONS = Object.values(RejectReason).filter((r) => r.startsWith('TOPIC.') || (r.startsWith('PAYLOAD.') && r !== 'PAYLOAD.BAD_COMMAND'));
const CASES = 6000;

const describeCase = (c: FuzzCase) =>
  `case #${c.index} (${c.recipe}) topic ${JSON.stringify(c.topic.slice(0, 120))} payload ${JSON.stringify(c.payload.subarray(0, 160).toString())}${c.payload.length > 160 ? `… (${c.payload.length} bytes)` : ''}`;

/** Numbers as InfluxDB will hold them: -0 and 0 are one value. */
const same = (a: unknown, b: unknown) => a === b || (typeof a === 'number' && typeof b === 'number' && a === 0 && b === 0);

describe('pipeline fuzz', () => {
  it(`survives ${CASES} seeded cases and treats each one as the contract says`, async () => {
    const spool = new MemorySpool(1_000_000);
    const metrics = new Metrics();
    const pipeline = createPipeline({
      spool,
      registry: new AssetRegistry([]),
      live: new LiveState(new AssetRegistry([])),
      metrics,
      clock: { now: () => FUZZ_NOW },
      log: silentLogger,
      strictAssets: false,
      // Keep every dead letter, so each one's line is checked too.
      rejectSamplesPerMinute: 1_000_000,
    });
    const generator = new FuzzGenerator(SEED);
    const expectedRejects = new Map<RejectReason, number>();
    const recipesSeen = new Map<string, { valid: number; invalid: number }>();
    let valid = 0;
    let invalid = 0;

    for (let n = 0; n < CASES; n++) {
      const c = generator.next();
      const seen = recipesSeen.get(c.recipe) ?? { valid: 0, invalid: 0 };
      recipesSeen.set(c.recipe, seen);
      if (c.recipe === 'valid') expect(c.expected.valid, `the generator's valid reading is invalid by the reference: ${describeCase(c)}`).toBe(true);

      await expect(pipeline.ingest({ topic: c.topic, payload: c.payload, receivedAt: FUZZ_NOW }), describeCase(c)).resolves.toBeUndefined();
      const lines = spool.peek(10);
      spool.commit(lines.length);
      expect(lines, describeCase(c)).toHaveLength(1);
      let parsed: ReturnType<typeof checkSpooledLine>;
      try {
        parsed = checkSpooledLine(lines[0]!);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n  from ${describeCase(c)}`);
      }

      const expected = c.expected;
      if (!expected.valid) {
        invalid += 1;
        seen.invalid += 1;
        expect(parsed.measurement, describeCase(c)).toBe('rejected');
        expect(expected.reasons, `rejected as ${parsed.tags.reason}: ${describeCase(c)}`).toContain(parsed.tags.reason);
        const reason = parsed.tags.reason as RejectReason;
        expectedRejects.set(reason, (expectedRejects.get(reason) ?? 0) + 1);
        expect(parsed.fields.bytes?.value).toBe(c.payload.length);
        continue;
      }
      valid += 1;
      seen.valid += 1;
      if (expected.channel === 'status') {
        expect(parsed, describeCase(c)).toMatchObject({
          measurement: 'status',
          tags: { site: expected.site, asset: expected.asset, kind: expected.kind },
          fields: { online: { type: 'boolean', value: expected.online } },
        });
        continue;
      }
      expect(parsed.measurement, describeCase(c)).toBe(expected.kind);
      expect(parsed.tags, describeCase(c)).toEqual({ site: expected.site, asset: expected.asset });
      expect(parsed.timestamp, describeCase(c)).toBe(expected.ts);
      const stored = Object.fromEntries(Object.entries(parsed.fields).map(([name, field]) => [name, field.value]));
      const sent: Record<string, unknown> = { ...expected.values, ...(expected.seq === undefined ? {} : { seq: expected.seq }) };
      expect(Object.keys(stored).sort(), describeCase(c)).toEqual(Object.keys(sent).sort());
      for (const [name, value] of Object.entries(sent)) expect(same(stored[name], value), `${name}: ${String(stored[name])} ≠ ${String(value)} in ${describeCase(c)}`).toBe(true);
    }

    // Every recipe ran and the mix has plenty of both outcomes.
    expect(recipesSeen.size).toBe(22);
    expect(valid).toBeGreaterThan(CASES / 5);
    expect(invalid).toBeGreaterThan(CASES / 2);
    // Counted by reason: the metrics agree with the dead letters, case by case.
    expect(await Metrics.total(metrics.received)).toBe(CASES);
    expect(await Metrics.total(metrics.rejected)).toBe(invalid);
    for (const reason of REJECT_REASONS) {
      const counted = (await metrics.rejected.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
      expect(counted, reason).toBe(expectedRejects.get(reason) ?? 0);
    }
    // Every reason a telemetry or status message can cause (all but strict mode's) came up.
    expect([...expectedRejects.keys()].sort()).toEqual(DEVICE_REASONS.sort());
  });

  it('the reference agrees with hand-picked edge cases', () => {
    const topic = 'hydrowatch/s1/pump/P-1/telemetry';
    const at = (text: string) => reference(topic, Buffer.from(text), FUZZ_NOW);
    expect(at(`{"ts":${FUZZ_NOW},"values":{"flow_m3h":-0}}`)).toMatchObject({ valid: true });
    expect(at(`{"ts":${FUZZ_NOW},"values":{"flow_m3h":5e-324}}`)).toMatchObject({ valid: true });
    expect(at(`{"ts":${FUZZ_NOW},"values":{"flow_m3h":1e308}}`)).toEqual({ valid: false, reasons: ['PAYLOAD.OUT_OF_RANGE'] });
    expect(at(`{"ts":${FUZZ_NOW},"values":{"flow_m3h":1e400}}`)).toEqual({ valid: false, reasons: ['PAYLOAD.NOT_FINITE'] });
    expect(at(`{"ts":${FUZZ_NOW},"seq":9007199254740992,"values":{"running":true}}`)).toEqual({ valid: false, reasons: ['PAYLOAD.BAD_SEQ'] });
    expect(at(`{"ts":${FUZZ_NOW},"values":{"fault_code":1.5}}`)).toEqual({ valid: false, reasons: ['PAYLOAD.WRONG_TYPE'] });
    expect(at(`{"ts":${FUZZ_NOW + 300_001},"values":{"running":true}}`)).toEqual({ valid: false, reasons: ['PAYLOAD.FUTURE_TS'] });
    expect(at(`{"ts":${FUZZ_NOW},"values":{"__proto__":1}}`)).toEqual({ valid: false, reasons: ['PAYLOAD.UNKNOWN_FIELD'] });
    expect(reference('hydrowatch/s 1/pump/P-1/telemetry', Buffer.from('{}'), FUZZ_NOW)).toEqual({ valid: false, reasons: ['TOPIC.BAD_ID'] });
  });
});
