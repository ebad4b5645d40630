// Serves the built wallboard (dist/wallboard) at /: the static shell is open to everyone; its data is not.
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const WALLBOARD_DIR = fileURLToPath(new URL('../dist/wallboard/', import.meta.url));

export async function wallboardRoutes(app: FastifyInstance, opts: { dir?: string }): Promise<void> {
  const root = opts.dir ?? WALLBOARD_DIR;
  if (!existsSync(root)) {
    app.log.warn({ root }, 'the wallboard is not built: run `npm run build`');
    app.get('/', async (_req, reply) =>
      reply.code(503).type('text/plain').send('The wallboard is not built yet: run `npm run build`.\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    index: ['index.html'],
    // The build writes .br and .gz copies of the larger files (vite.config.ts): sent to browsers that accept them.
    preCompressed: true,
    // Hashed assets can be cached for a year; index.html must always be revalidated so a TV picks up new builds.
    setHeaders: (reply, filePath) => {
      reply.header('cache-control', filePath.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
