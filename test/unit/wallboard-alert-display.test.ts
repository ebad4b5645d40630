import { describe, expect, it } from 'vitest';
import type { Alert } from '../../server/live/protocol.ts';
import { specificity } from '../../server/alerts/specificity.ts';
import { AlertBook, alertCounts, alertRows, FLASH_MS, levelCue, thresholdsFor, tileLevel, type ThresholdView } from '../../wallboard/src/lib/alert-display.ts';

const alert = (over: Partial<Alert> = {}): Alert => ({
  id: 'al_1',
  thresholdId: 'thr_1',
  kpi: 'service_level',
  scope: 'queue:billing',
  window: '15m',
  level: 'warning',
  peak: 'warning',
  value: 70,
  threshold: 75,
  direction: 'below',
  startedAt: '2025-01-01T10:00:00.000Z',
  endedAt: null,
  acknowledgedBy: null,
  acknowledgedAt: null,
  ...over,
});
const thr = (over: Partial<ThresholdView> = {}): ThresholdView => ({
  id: 't',
  kpi: 'service_level',
  scope: 'center',
  window: '15m',
  direction: 'below',
  warning: 80,
  critical: 60,
  forSeconds: 0,
  enabled: true,
  ...over,
});
const tile = { kpi: 'service_level', scope: 'queue:billing', window: '15m' as const };

describe('alert display rules', () => {
  it('colours a tile by its open alerts, ignoring other scopes, windows and cleared alerts', () => {
    expect(tileLevel(tile, 90, [alert()], [])).toBe('warning');
    expect(tileLevel(tile, 90, [alert({ level: 'critical' })], [])).toBe('critical');
    expect(tileLevel(tile, 90, [alert({ scope: 'queue:sales', level: 'critical' })], [])).toBe('neutral');
    expect(tileLevel(tile, 90, [alert({ window: '1h', level: 'critical' })], [])).toBe('neutral');
    expect(tileLevel(tile, 90, [alert({ level: 'ok', endedAt: '2025-01-01T10:05:00Z' })], [])).toBe('neutral');
  });

  it('turns the moment the value crosses a threshold without a hold time, but leaves held ones to the engine', () => {
    expect(tileLevel(tile, 85, [], [thr()])).toBe('neutral');
    // strict, as the engine: exactly at a level is not past it (80 % meets an 80 % target)
    expect(tileLevel(tile, 80, [], [thr()])).toBe('neutral');
    expect(tileLevel(tile, 79.9, [], [thr()])).toBe('warning');
    expect(tileLevel(tile, 60, [], [thr()])).toBe('warning');
    expect(tileLevel(tile, 59, [], [thr()])).toBe('critical');
    expect(tileLevel(tile, 59, [], [thr({ forSeconds: 60 })])).toBe('neutral');
    expect(tileLevel(tile, null, [], [thr()])).toBe('neutral');
    // the alert keeps the tile critical while the value sits in the clear band
    expect(tileLevel(tile, 82, [alert({ level: 'critical' })], [thr()])).toBe('critical');
  });

  it('judges a value from fewer than the threshold\'s minCount as no data, as the engine does', () => {
    // 0 % from 2 offered, 10 asked for: neutral; from 10: critical (0 < 60)
    expect(tileLevel(tile, 0, [], [thr({ minCount: 10 })], 2)).toBe('neutral');
    expect(tileLevel(tile, 0, [], [thr({ minCount: 10 })], 10)).toBe('critical');
    // no minimum: any sample
    expect(tileLevel(tile, 0, [], [thr()], 1)).toBe('critical');
  });

  it('uses the most specific threshold, as the engine does; a disabled override silences the scope', () => {
    expect(specificity('queue:billing', 'queue:billing')).toBe(3);
    expect(specificity('queue:*', 'queue:billing')).toBe(2);
    expect(specificity('center', 'queue:billing')).toBe(1);
    expect(specificity('center', 'agent:7')).toBe(-1);
    const list = [thr({ id: 'c' }), thr({ id: 'q', scope: 'queue:*', warning: 70, critical: 50 }), thr({ id: 'b', scope: 'queue:billing', warning: 90, critical: 85 })];
    expect(thresholdsFor(list, 'service_level', 'queue:billing', '15m').map((t) => t.id)).toEqual(['b']);
    expect(thresholdsFor(list, 'service_level', 'queue:sales', '15m').map((t) => t.id)).toEqual(['q']);
    expect(thresholdsFor(list, 'service_level', 'center', '15m').map((t) => t.id)).toEqual(['c']);
    expect(thresholdsFor([...list, thr({ id: 'off', scope: 'queue:billing', enabled: false, warning: 99, critical: 98 })].filter((t) => t.id !== 'b'), 'service_level', 'queue:billing', '15m')).toEqual([]);
  });

  it('gives every level a non-colour cue', () => {
    expect(levelCue('critical')).toEqual({ icon: '▲', word: 'critical' });
    expect(levelCue('warning')).toEqual({ icon: '●', word: 'warning' });
    expect(levelCue('neutral').icon).toBe('');
  });

  it('flashes and beeps for a new critical alert, for a few seconds only, and not when acknowledged', () => {
    const book = new AlertBook();
    expect(book.apply(alert({ level: 'warning' }), 0)).toBe(false);
    expect(book.apply(alert({ level: 'critical', peak: 'critical' }), 1_000)).toBe(true);
    expect(book.flashing(1_000 + FLASH_MS - 1).has('al_1')).toBe(true);
    expect(book.flashing(1_000 + FLASH_MS).has('al_1')).toBe(false);
    // an update of the same critical alert does not beep again
    expect(book.apply(alert({ level: 'critical', value: 60 }), 2_000)).toBe(false);
    // acknowledged: no flash
    book.apply(alert({ level: 'critical', acknowledgedBy: 'sue', acknowledgedAt: '2025-01-01T10:01:00Z' }), 2_500);
    expect(book.flashing(2_600).size).toBe(0);
    expect(book.apply(alert({ id: 'al_2', level: 'critical', acknowledgedBy: 'sue' }), 3_000)).toBe(false);
  });

  it('does not beep or flash for alerts that were already open before a reconnect', () => {
    const book = new AlertBook();
    book.replace([alert({ level: 'critical' }), alert({ id: 'al_2' })], 10_000);
    expect(book.flashing(10_000).size).toBe(0);
    expect(book.open.size).toBe(2);
    expect(book.apply(alert({ level: 'critical' }), 10_500)).toBe(false);
  });

  it('forgets cleared alerts at once (bounded), and lists critical, unacknowledged and newest first, capped', () => {
    const book = new AlertBook();
    book.apply(alert({ id: 'w-old', startedAt: '2025-01-01T09:00:00Z' }), 0);
    book.apply(alert({ id: 'c-ack', level: 'critical', acknowledgedBy: 'sue' }), 0);
    book.apply(alert({ id: 'c-new', level: 'critical', startedAt: '2025-01-01T10:30:00Z' }), 0);
    book.apply(alert({ id: 'w-new', startedAt: '2025-01-01T10:40:00Z' }), 0);
    expect(book.listed().map((a) => a.id)).toEqual(['c-new', 'c-ack', 'w-new', 'w-old']);
    expect(book.listed(2)).toHaveLength(2);
    book.apply(alert({ id: 'c-new', level: 'ok', endedAt: '2025-01-01T11:00:00Z' }), 0);
    expect(book.open.has('c-new')).toBe(false);
    expect(book.criticalSince.has('c-new')).toBe(false);
    for (let i = 0; i < 1000; i++) {
      book.apply(alert({ id: `x${i}`, level: 'critical' }), i);
      book.apply(alert({ id: `x${i}`, level: 'ok', endedAt: 'x' }), i);
    }
    expect(book.open.size).toBe(3);
    expect(book.criticalSince.size).toBe(1);
  });

  it('shows the whole rows that fit, at least one, and counts the rest for the heading', () => {
    expect(alertRows(3, 5)).toEqual({ shown: 3, more: 0 }); // all fit
    expect(alertRows(5, 5)).toEqual({ shown: 5, more: 0 }); // exactly
    expect(alertRows(8, 3)).toEqual({ shown: 3, more: 5 }); // 3 rows fit: 8 − 3 = 5 more
    expect(alertRows(2, 0)).toEqual({ shown: 1, more: 1 }); // a tile too small for a row still shows one
    expect(alertRows(0, 3)).toEqual({ shown: 0, more: 0 });
  });

  it('counts open alerts by level; cleared ones are not counted', () => {
    const list = [alert({ id: 'a', level: 'critical' }), alert({ id: 'b' }), alert({ id: 'c', level: 'critical' }), alert({ id: 'd', level: 'ok' })];
    expect(alertCounts(list)).toEqual({ critical: 2, warning: 1 });
  });
});
