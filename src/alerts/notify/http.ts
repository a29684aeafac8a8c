// HTTP delivery shared by the webhook and Alertmanager notifiers: a timeout on every request, and
// an error that says whether trying again can help.
import { DeliveryError } from './channel.js';
import { redactUrl } from '../../log.js';

export interface PostOptions {
  headers?: Record<string, string>;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** POSTs a body; resolves on 2xx, throws DeliveryError otherwise (retryable: network, timeout, 408, 429, 5xx). */
export async function post(url: string, body: string, options: PostOptions): Promise<void> {
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'user-agent': 'hydrowatch', ...options.headers },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    throw new DeliveryError(`POST ${redactUrl(url)}: ${networkReason(error)}`, true, { cause: error });
  }
  // Drain the body so the connection is released; its text helps the log line on failure.
  const text = await response.text().catch(() => '');
  if (response.ok) return;
  const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
  throw new DeliveryError(`POST ${redactUrl(url)}: HTTP ${response.status}${text ? `: ${text.slice(0, 200).trim()}` : ''}`, retryable);
}

function networkReason(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'timed out';
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
    return error.message;
  }
  return String(error);
}

