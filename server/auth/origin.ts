// Cross-origin detection for cookie-authenticated requests (the CSRF check) and websocket upgrades.
import type { FastifyRequest } from 'fastify';

/** Same origin as the request's Host (an absent Origin passes: non-browser clients and old browsers' GETs). */
export function crossOrigin(request: Pick<FastifyRequest, 'headers'>): boolean {
  if (request.headers['sec-fetch-site'] === 'cross-site') return true;
  const origin = request.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host !== request.headers.host;
  } catch {
    return true;
  }
}
