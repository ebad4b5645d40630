import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BEGIN, configTable, END } from '../../scripts/config-table.ts';
import { validateEvent } from '../../server/ingest/contract.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const DOCS = ['README.md', ...readdirSync(new URL('../../docs/', import.meta.url)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('README', () => {
  it('documents every configuration variable exactly as the schema declares it', () => {
    const table = read('README.md').split(BEGIN)[1]?.split(END)[0]?.trim();
    expect(table, 'run `npm run config:table -- --write`').toBe(configTable());
  });
});

describe('docs', () => {
  it('name only docs pages that exist', () => {
    const named = new Set(DOCS.flatMap((doc) => [...read(doc).matchAll(/`(docs\/[\w-]+\.md)`/g)].map((m) => m[1]!)));
    expect(named.size).toBeGreaterThan(5);
    for (const page of named) expect(existsSync(new URL(`../../${page}`, import.meta.url)), page).toBe(true);
  });

  it("state the knobs' defaults as the configuration schema does (docs/performance.md)", () => {
    // `| VARIABLE | default |` rows of the README's generated table, and of the guide's table of knobs
    const defaults = (text: string) =>
      new Map([...text.matchAll(/^\| `([A-Z_]+)` \| `?([^|`]+?)`? \|/gm)].map((m) => [m[1]!, m[2]!.replaceAll(',', '')]));
    const schema = defaults(configTable());
    const guide = defaults(read('docs/performance.md'));
    expect([...guide.keys()]).toEqual(['INGEST_BATCH_EVENTS', 'KPI_RECOMPUTE_DEBOUNCE_MS', 'INGEST_RATE_LIMIT_PER_MINUTE']);
    for (const [name, value] of guide) expect(value, name).toBe(schema.get(name));
  });

  it('show only events the contract accepts (docs/events.md)', () => {
    const doc = read('docs/events.md');
    const examples: unknown[] = [];
    for (const [, lang, body] of doc.matchAll(/```(\w+)\n([\s\S]*?)```/g)) {
      if (lang === 'json' && !body!.startsWith('HTTP/')) examples.push(...[JSON.parse(body!)].flat());
      if (lang === 'sh') examples.push(...body!.split('\n').filter((l) => l.startsWith('{"id"')).map((l) => JSON.parse(l)));
    }
    // the curl call's 4 lines, the transfer to a queue's 7, to an agent's 6, the IVR's 3 and the CRM's 5
    expect(examples).toHaveLength(25);
    for (const e of examples) {
      const v = validateEvent(e, { now: Date.parse('2026-11-23T12:00:00Z'), retentionDays: 400 });
      expect(v.ok ? [] : v.errors, JSON.stringify(e)).toEqual([]);
    }
  });
});
