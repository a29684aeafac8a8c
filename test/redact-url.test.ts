// Credentials in URLs (broker, Redis, webhooks) never reach a log line or /health.
import { describe, expect, it } from 'vitest';
import { redactUrl } from '../src/log.js';

describe('redactUrl', () => {
  it('hides user and password, keeps where it points', () => {
    expect(redactUrl('mqtt://ingest:s3cret@broker.local:1883')).toBe('mqtt://***@broker.local:1883');
    expect(redactUrl('redis://:s3cret@10.0.0.5:6379/0')).toBe('redis://***@10.0.0.5:6379/0');
    expect(redactUrl('https://hooktoken@hooks.example/crew?x=1')).toBe('https://***@hooks.example/crew?x=1');
    expect(redactUrl('http://alertmanager:9093/api/v2/alerts')).toBe('http://alertmanager:9093/api/v2/alerts');
    expect(redactUrl('not a url s3cret')).toBe('(invalid URL)');
  });
});
