// Small fetch helpers for the wallboard and the console: JSON in and out, the CSRF header on state-changing
// requests (cookie sessions need it), errors as ApiFailure with the API's code, message and field details.
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/**
 * A signal that aborts after `ms`: a read that hangs (a half-open connection, a stalled server) fails in time and is
 * asked again, instead of holding up every later read of a loop that waits for it.
 */
export function timeoutSignal(ms: number): AbortSignal {
  const c = new AbortController();
  setTimeout(() => c.abort(new Error(`no answer within ${ms / 1000} s`)), ms);
  return c.signal;
}

export async function api<T>(method: string, url: string, body?: unknown, signal?: AbortSignal, extraHeaders: Record<string, string> = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
  if (method !== 'GET') headers['x-nabiz-csrf'] = '1';
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', signal });
    if (res.status === 204) return undefined as T;
    text = await res.text();
  } catch (err) {
    const reason = signal?.aborted && signal.reason instanceof Error ? signal.reason : (err as Error);
    throw new ApiFailure(0, 'network', `the server cannot be reached (${reason.message})`);
  }
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON (a proxy error page)
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    const details = Array.isArray(e?.details) ? (e.details as { path: string; message: string }[]) : [];
    throw new ApiFailure(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `the server answered ${res.status}`, details);
  }
  return json as T;
}
