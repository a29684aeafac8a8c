// Live alert changes from GET /api/alerts/stream (server-sent events). Read with fetch() and a
// stream reader rather than EventSource: EventSource cannot send the Authorization header, and
// the token must never go into a URL. Reconnects on its own, backing off from 1 s to 30 s.
import { ApiError, apiUrl, authHeaders, plainWords } from './api.js';

/** The server sends a keep-alive every 15 s: this long without a byte means the connection is dead. */
const SILENCE_MS = 45_000;

/**
 * onEvent(name, data) for every event; onStatus('connecting' | 'live' | 'retrying', detail) as the
 * connection changes; onRefused(ApiError) on a 401/403, after which it stops (the token is wrong).
 */
export function openAlertStream({ onEvent, onStatus, onRefused }) {
  let stopped = false;
  let controller;
  let retryMs = 1000;

  const run = async () => {
    while (!stopped) {
      controller = new AbortController();
      let watchdog;
      const feed = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => controller.abort(), SILENCE_MS);
      };
      try {
        onStatus('connecting');
        const response = await fetch(apiUrl('/api/alerts/stream'), {
          headers: { accept: 'text/event-stream', ...authHeaders() },
          cache: 'no-store',
          credentials: 'omit',
          signal: controller.signal,
        });
        if (response.status === 401 || response.status === 403) {
          const body = await response.json().catch(() => ({}));
          stopped = true;
          onRefused(new ApiError(response.status, body.error, body.reason, plainWords(response.status, body.reason)));
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        feed();
        let buffer = '';
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          feed();
          buffer += value;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = parseEvent(block);
            if (event) {
              if (event.name === 'snapshot') retryMs = 1000;
              onEvent(event.name, event.data);
              onStatus('live');
            }
          }
        }
      } catch {
        // aborted, dropped or refused: retried below
      } finally {
        clearTimeout(watchdog);
      }
      if (stopped) return;
      onStatus('retrying', Math.round(retryMs / 1000));
      await new Promise((resolve) => setTimeout(resolve, retryMs));
      retryMs = Math.min(retryMs * 2, 30_000);
    }
  };
  run();
  return {
    close() {
      stopped = true;
      controller?.abort();
    },
  };
}

/** One SSE block (`event:` and `data:` lines); comments (keep-alives) give undefined. */
function parseEvent(block) {
  let name = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) name = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length === 0) return undefined;
  try {
    return { name, data: JSON.parse(data.join('\n')) };
  } catch {
    return undefined;
  }
}
