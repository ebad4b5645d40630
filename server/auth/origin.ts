// Cross-origin detection for cookie-authenticated requests (the CSRF check) and websocket upgrades.
import type { FastifyRequest } from 'fastify';

/**
 * Same origin as the request's host (an absent Origin passes: non-browser clients and old browsers' GETs). The host is
 * the Host header, or X-Forwarded-Host from a proxy TRUST_PROXY names (one that passes Host on rewritten).
 */
export function crossOrigin(request: Pick<FastifyRequest, 'headers' | 'host'>): boolean {
  if (request.headers['sec-fetch-site'] === 'cross-site') return true;
  const origin = request.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host !== request.host;
  } catch {
    return true;
  }
}
