import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BEGIN, configTable, END } from '../../scripts/config-table.ts';

describe('README', () => {
  it('documents every configuration variable exactly as the schema declares it', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.split(BEGIN)[1]?.split(END)[0]?.trim();
    expect(table, 'run `npm run config:table -- --write`').toBe(configTable());
  });
});
