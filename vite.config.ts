import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';
import solid from 'vite-plugin-solid';

const brotli = promisify(brotliCompress);
const gzipP = promisify(gzip);

/** Files smaller than this are sent as they are: compressing them saves less than the headers cost. */
const COMPRESS_MIN_BYTES = 1024;

/**
 * Writes a brotli (`.br`) and a gzip (`.gz`) copy beside each built file worth compressing, at the highest levels (this
 * runs once per build, not per request). The API serves them to browsers that accept them (`preCompressed` in
 * server/wallboard.ts): a TV downloads about a third of the bytes.
 */
function precompress(): Plugin {
  return {
    name: 'nabiz-precompress',
    apply: 'build',
    async writeBundle(options, bundle) {
      const dir = options.dir ?? '';
      await Promise.all(
        Object.values(bundle).map(async (f) => {
          const data = Buffer.from(f.type === 'chunk' ? f.code : f.source);
          if (data.length < COMPRESS_MIN_BYTES) return;
          const file = path.join(dir, f.fileName);
          await writeFile(`${file}.br`, await brotli(data, { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY } }));
          await writeFile(`${file}.gz`, await gzipP(data, { level: 9 }));
        }),
      );
    },
  };
}

const ROOT = fileURLToPath(new URL('./wallboard/', import.meta.url));

// The wallboard is a static SolidJS app built into dist/wallboard and served by the API server, with its service
// worker (wallboard/src/sw.ts) at /sw.js: a service worker's file keeps one name, and its scope is its folder.
export default defineConfig({
  root: 'wallboard',
  plugins: [solid(), precompress()],
  build: {
    outDir: '../dist/wallboard',
    emptyOutDir: true,
    target: 'es2020',
    sourcemap: false,
    rolldownOptions: {
      input: { index: path.join(ROOT, 'index.html'), sw: path.join(ROOT, 'src/sw.ts') },
      output: { entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js') },
    },
  },
  server: { proxy: { '/v1': { target: 'http://127.0.0.1:8080', ws: true }, '/healthz': 'http://127.0.0.1:8080' } },
});
