import { describe, expect, it } from 'vitest';
import { QUIET_LOOKBACK_MS, quietSources } from '../../server/ingest/activity.ts';

const MIN = 60_000;
const NOW = Date.parse('2026-11-24T12:00:00Z');
const every = (ms: number) => ({ acd: ms, ivr: ms, crm: ms });

describe('quiet sources', () => {
  it('are those heard from in the last 24 hours whose latest event is at least the quiet time old, by name', () => {
    const last = new Map([
      ['ivr', NOW - 15 * MIN], // exactly 15 minutes: quiet
      ['acd', NOW - 40 * MIN], // quiet
      ['crm', NOW - 14 * MIN - 59_000], // 14:59 ago: not yet
    ]);
    expect(quietSources(last, NOW, every(15 * MIN))).toEqual([
      { source: 'acd', since: '2026-11-24T11:20:00.000Z' },
      { source: 'ivr', since: '2026-11-24T11:45:00.000Z' },
    ]);
  });

  it('leave out a source not heard from for 24 hours (not in use), and say nothing when the quiet time is 0', () => {
    const last = new Map([
      ['acd', NOW - QUIET_LOOKBACK_MS], // 24 h ago: out
      ['ivr', NOW - QUIET_LOOKBACK_MS + 1], // just inside
      ['crm', Number.NaN], // a damaged entry
    ]);
    expect(quietSources(last, NOW, every(15 * MIN)).map((q) => q.source)).toEqual(['ivr']);
    expect(quietSources(last, NOW, every(0))).toEqual([]);
  });

  it('take each source\'s own quiet time: an IVR quiet at night after an hour, never the CRM', () => {
    const last = new Map([
      ['acd', NOW - 20 * MIN], // over its 15: quiet
      ['ivr', NOW - 40 * MIN], // under its 60: not yet
      ['crm', NOW - 300 * MIN], // 0: never
      ['pbx', NOW - 300 * MIN], // not a source of the contract: never
    ]);
    expect(quietSources(last, NOW, { acd: 15 * MIN, ivr: 60 * MIN, crm: 0 })).toEqual([{ source: 'acd', since: '2026-11-24T11:40:00.000Z' }]);
    expect(quietSources(last, NOW + 20 * MIN, { acd: 15 * MIN, ivr: 60 * MIN, crm: 0 }).map((q) => q.source)).toEqual(['acd', 'ivr']);
  });
});
