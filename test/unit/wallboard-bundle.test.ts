// The TV's bundle budget (docs/performance.md): what a TV downloads, JS and CSS gzipped, stays under 100 kB. Built
// here from the source as it is (in memory, by scripts/bench/wallboard.ts's measureTvBundle, which the bench reports
// too), so it needs no `npm run build` first and a stale dist/wallboard cannot pass for the current source.
import { describe, expect, it } from 'vitest';
import { measureTvBundle, TV_BUNDLE_BUDGET_BYTES } from '../../scripts/bench/wallboard.ts';

describe('wallboard bundle', () => {
  it('keeps what a TV downloads (JS and CSS, not the lazily loaded console) under 100 kB gzipped', async () => {
    const bundle = await measureTvBundle();
    const files = bundle.files.map((f) => `${f.name}: ${f.gzip} B gzipped`).join(', ');
    // the console is not the TV's: it is loaded only at /#/console
    expect(bundle.files.filter((f) => f.name.includes('Console')), files).toEqual([]);
    expect(bundle.gzipBytes, files).toBeLessThanOrEqual(TV_BUNDLE_BUDGET_BYTES);
  }, 60_000);
});
