// A table tile's rows on the wallboard: `queue:*` (team:*, channel:*) stands for every queue (team, channel) with
// figures today.
import { describe, expect, it } from 'vitest';
import { byName, expandRows, wildcardKind } from '../../server/boards/table-rows.ts';

describe('a table of every queue (wallboard)', () => {
  const active = ['center', 'queue:sales', 'queue:billing', 'team:red', 'channel:chat', 'agent:a1'];

  it('tells a wildcard row from a scope of its own', () => {
    expect(wildcardKind('queue:*')).toBe('queue');
    expect(wildcardKind('team:*')).toBe('team');
    expect(wildcardKind('agent:*')).toBeNull();
    expect(wildcardKind('queue:billing')).toBeNull();
    expect(wildcardKind('queue:**')).toBeNull();
  });

  it('replaces queue:* by the queues with figures today, by name, without the ones named besides, up to the cap', () => {
    expect(expandRows(['queue:*'], active, 20)).toEqual(['queue:billing', 'queue:sales']);
    // center and sales named on their own keep their place; the wildcard adds billing only
    expect(expandRows(['center', 'queue:*', 'queue:sales'], active, 20)).toEqual(['center', 'queue:billing', 'queue:sales']);
    expect(expandRows(['team:*', 'channel:*'], active, 20)).toEqual(['team:red', 'channel:chat']);
    expect(expandRows(['center', 'queue:*'], active, 2)).toEqual(['center', 'queue:billing']);
    // the rows named are always there: a total row after the wildcard is not pushed out by many queues
    const many = Array.from({ length: 25 }, (_, i) => `queue:q${String(i).padStart(2, '0')}`);
    const rows = expandRows(['queue:*', 'center'], many, 20);
    expect(rows).toHaveLength(20);
    expect(rows.at(-1)).toBe('center');
    expect(rows.slice(0, 19)).toEqual(many.slice(0, 19));
    // nothing active yet: no rows for the wildcard
    expect(expandRows(['queue:*'], [], 20)).toEqual([]);
  });

  it('lists scopes by name as a person reads them, the same in any browser: case aside, numbers by value', () => {
    const names = ['queue:Sales', 'queue:q10', 'queue:billing', 'queue:q2', 'queue:sales', 'queue:Çağrı'];
    // Ç as C (accents aside too), Sales and sales side by side (upper case first to break the tie)
    const sorted = ['queue:billing', 'queue:Çağrı', 'queue:q2', 'queue:q10', 'queue:Sales', 'queue:sales'];
    expect([...names].sort(byName)).toEqual(sorted);
    expect(expandRows(['queue:*'], names, 20)).toEqual(sorted);
  });
});
