import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';

// The wallboard is a static SolidJS app built into dist/wallboard and served by the API server.
export default defineConfig({
  root: 'wallboard',
  plugins: [solid()],
  build: { outDir: '../dist/wallboard', emptyOutDir: true, target: 'es2020', sourcemap: false },
  server: { proxy: { '/v1': { target: 'http://127.0.0.1:8080', ws: true }, '/healthz': 'http://127.0.0.1:8080' } },
});
