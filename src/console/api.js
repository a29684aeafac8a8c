// Talking to the hydrowatch API: the bearer token (kept in sessionStorage, never in a URL), JSON
// calls, and API errors turned into plain words for the person at the desk or on the phone.

const TOKEN_KEY = 'hydrowatch.console.token';

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An API path resolved against the console's own URL, so a reverse proxy's path prefix is kept. */
export const apiUrl = (path) => new URL(`..${path}`, document.baseURI).href;

export function authHeaders() {
  const token = session.token();
  return token ? { authorization: `Bearer ${token}` } : {};
}

export class ApiError extends Error {
  /** status 0: no answer at all. `plain` is what the console shows. */
  constructor(status, code, reason, plain) {
    super(reason);
    this.status = status;
    this.code = code;
    this.plain = plain;
  }
}

export async function api(method, path, body) {
  const headers = { accept: 'application/json', ...authHeaders() };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(apiUrl(path), { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
  } catch {
    throw new ApiError(0, 'network', 'no answer', 'hydrowatch did not answer. Check the network connection and try again; nothing was changed.');
  }
  let data = {};
  try {
    data = await response.json();
  } catch {
    // an empty or non-JSON body: the status says enough
  }
  if (!response.ok) {
    throw new ApiError(response.status, data.error ?? 'error', data.reason ?? response.statusText, plainWords(response.status, data.reason, response.headers.get('retry-after')));
  }
  return data;
}

/** What an API refusal means for the person who tried, in a sentence. */
export function plainWords(status, reason, retryAfter) {
  const detail = reason ? ` (${reason})` : '';
  switch (status) {
    case 400:
      return `Please check the form: ${reason ?? 'something is missing or invalid'}.`;
    case 401:
      return 'Your sign-in is no longer accepted. Sign in again with a valid API token.';
    case 403:
      return `Your token is not allowed to do this; it needs an operator token${detail}.`;
    case 404:
      return `Not found: ${reason ?? 'it no longer exists'}.`;
    case 409:
      return `Nothing changed: ${reason ?? 'someone else has already done this'}.`;
    case 413:
      return 'That is too much text; shorten the note or reason.';
    case 429:
      return `Too many requests from this address; try again in ${retryAfter ?? 'a few'} seconds.`;
    default:
      return status >= 500 ? 'hydrowatch had a problem answering; nothing was changed. Try again, and tell the administrator if it keeps happening.' : `The request was refused${detail}.`;
  }
}
