import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { CATALOG_TABLE_BEGIN, CATALOG_TABLE_END, catalogTable, KPI_CATALOG, KPI_KEYS, KpiDefinitionSchema } from '../../server/kpi/catalog.ts';

describe('KPI catalog', () => {
  it('has one valid entry per key, in the order of KPI_KEYS', () => {
    expect(KPI_CATALOG.map((d) => d.key)).toEqual([...KPI_KEYS]);
    for (const d of KPI_CATALOG) expect(Value.Errors(KpiDefinitionSchema, d).First(), d.key).toBeUndefined();
  });

  it('marks every ratio and mean as nullable, and counts (but Erlang\'s) and the longest wait (0 when none) as never null', () => {
    for (const d of KPI_CATALOG) {
      const erlang = d.key === 'required_agents' || d.key === 'staffing_gap';
      expect(d.nullable, d.key).toBe((d.unit !== 'count' && d.key !== 'longest_wait') || erlang);
      if (d.unit === 'percent') expect([d.min, d.max], d.key).toEqual([0, 100]);
    }
  });

  it('is what docs/kpis.md shows (regenerate the table from the catalog when this fails)', () => {
    const doc = readFileSync(new URL('../../docs/kpis.md', import.meta.url), 'utf8');
    const table = doc.split(CATALOG_TABLE_BEGIN)[1]?.split(CATALOG_TABLE_END)[0]?.trim();
    expect(table).toBe(catalogTable());
  });
});
