// The alert state machine with a controllable clock: forSeconds (to fire, escalate, and go down), escalation,
// hysteresis, null values, the most specific threshold, and threshold validation against the KPI catalog.
import { describe, expect, it } from 'vitest';
import { emptyTrack, heldLevel, step, type Track, type Transition } from '../../server/alerts/engine.ts';
import { evaluate } from '../../server/alerts/runner.ts';
import { resolveThresholds, validateThreshold, type Threshold, type ThresholdInput } from '../../server/alerts/thresholds.ts';
import { ApiError } from '../../server/errors.ts';

const T0 = Date.parse('2025-03-10T09:00:00Z');

function threshold(over: Partial<Threshold> = {}): Threshold {
  return {
    id: 'thr_asa',
    kpi: 'asa',
    scope: 'center',
    window: '15m',
    direction: 'above',
    warning: 30,
    critical: 60,
    forSeconds: 60,
    minCount: 0,
    clearBand: 5,
    enabled: true,
    updatedAt: '2025-03-01T00:00:00.000Z',
    updatedBy: 'sup',
    ...over,
  };
}

/** Feeds values at the given seconds after T0 and returns each transition as "t:kind:level". */
function run(t: Threshold, points: Array<[number, number | null]>, scope = 'center'): { log: string[]; track: Track } {
  let track = emptyTrack(t.id, scope);
  let n = 0;
  const log: string[] = [];
  for (const [sec, value] of points) {
    const r = step(track, t, value, T0 + sec * 1000, () => `al_${++n}`);
    track = r.track;
    if (r.transition) log.push(`${sec}:${r.transition.kind}:${r.transition.alert.level}`);
  }
  return { log, track };
}

describe('alert state machine', () => {
  it('does not fire before forSeconds, and fires once the breach has held that long', () => {
    const { log, track } = run(threshold(), [[0, 40], [30, 45], [59, 50], [60, 50], [90, 50]]);
    expect(log).toEqual(['60:fired:warning']);
    expect(track.alert).toMatchObject({ level: 'warning', peak: 'warning', value: 50, threshold: 30, startedAt: new Date(T0 + 60_000).toISOString() });
  });

  it('a breach interrupted before forSeconds starts the wait again (no flicker)', () => {
    const { log } = run(threshold(), [[0, 40], [50, 20], [55, 40], [110, 40], [115, 40]]);
    expect(log).toEqual(['115:fired:warning']);
  });

  it('goes warning, then critical once the critical breach has held forSeconds, and down through the band once that has held as long', () => {
    const { log, track } = run(threshold(), [
      [0, 40],
      [60, 40], // warning
      [70, 70], // critical breach starts
      [100, 70],
      [130, 70], // held 60 s: critical
      [140, 57], // below 60 but inside the band (> 55): stays critical
      [150, 55], // back by the band: warning's level from here…
      [180, 50],
      [209, 50], // …held 59 s: still critical
      [210, 50], // held 60 s: down to warning
      [220, 27], // below 30 but inside the band (> 25): stays warning
      [230, 26], // still inside
      [240, 25], // back by the whole band (30 − 5)…
      [299, 24], // …held 59 s
      [300, 24], // held 60 s: cleared
    ]);
    expect(log).toEqual(['60:fired:warning', '130:escalated:critical', '210:deescalated:warning', '300:cleared:ok']);
    expect(track).toEqual({ ...emptyTrack('thr_asa', 'center') });
  });

  it('a value that dips past the band for a moment does not clear the alert (no flapping, no second alert)', () => {
    // waiting above 10 / 20, band 2, forSeconds 60: 25 waiting from 0 s fires critical at 60 s; one look at 7 (a burst
    // of answers) at 61 s, then 25 again until 122 s: the same alert, still critical. Then 7 for 60 s: cleared.
    const t = threshold({ kpi: 'waiting', window: 'today', warning: 10, critical: 20, clearBand: 2 });
    const { log } = run(t, [[0, 25], [30, 25], [60, 25], [61, 7], [62, 25], [92, 25], [122, 25], [130, 7], [160, 7], [189, 7], [190, 7]]);
    expect(log).toEqual(['60:fired:critical', '190:cleared:ok']);
  });

  it('fires straight at critical when the critical breach itself held forSeconds', () => {
    const { log } = run(threshold(), [[0, 90], [60, 90]]);
    expect(log).toEqual(['60:fired:critical']);
  });

  it('a cleared alert carries its end, its peak and the level it left from', () => {
    const t = threshold({ forSeconds: 0, clearBand: 0 });
    let track = emptyTrack(t.id, 'center');
    const transitions: Transition[] = [];
    for (const [sec, v] of [[0, 70], [10, 10]] as const) {
      const r = step(track, t, v, T0 + sec * 1000, () => 'al_x');
      track = r.track;
      if (r.transition) transitions.push(r.transition);
    }
    expect(transitions.map((x) => x.alert)).toEqual([
      expect.objectContaining({ id: 'al_x', level: 'critical', peak: 'critical', endedAt: null }),
      expect.objectContaining({ id: 'al_x', level: 'ok', peak: 'critical', value: 10, endedAt: new Date(T0 + 10_000).toISOString() }),
    ]);
  });

  it('a null value never fires, resets a pending breach, and leaves an open alert open', () => {
    expect(run(threshold({ forSeconds: 0 }), [[0, null], [10, null]]).log).toEqual([]);
    // pending 0 → 50 s, a gap of no data at 50 s, breach again: forSeconds counts from 60 s
    expect(run(threshold(), [[0, 40], [50, null], [60, 40], [100, 40], [120, 40]]).log).toEqual(['120:fired:warning']);
    const open = run(threshold({ forSeconds: 0 }), [[0, 40], [10, null], [20, null]]);
    expect(open.log).toEqual(['0:fired:warning']);
    expect(open.track.alert?.level).toBe('warning');
  });

  it('works the other way round for "below" (service level)', () => {
    const t = threshold({ kpi: 'service_level', direction: 'below', warning: 80, critical: 60, forSeconds: 0, clearBand: 5 });
    const { log } = run(t, [[0, 80], [10, 79.9], [20, 59], [30, 64], [40, 66], [50, 84], [60, 85.1]]);
    expect(log).toEqual(['10:fired:warning', '20:escalated:critical', '40:deescalated:warning', '60:cleared:ok']);
    expect(heldLevel(t, 84.9)).toBe('warning');
    expect(heldLevel(t, 64.9)).toBe('critical');
  });

  it('a value exactly at a level is not a breach', () => {
    expect(run(threshold({ forSeconds: 0 }), [[0, 30], [10, 60]]).log).toEqual(['10:fired:warning']);
  });
});

describe('the most specific threshold', () => {
  const center = threshold({ id: 'c', scope: 'center' });
  const allQueues = threshold({ id: 'q*', scope: 'queue:*', warning: 40, critical: 80 });
  const billing = threshold({ id: 'qb', scope: 'queue:billing', warning: 100, critical: 200 });
  const all = [center, allQueues, billing];

  it('applies: named scope > kind:* > center, and center covers queues and teams but not agents', () => {
    expect(resolveThresholds(all, '15m', 'queue:billing').get('asa')?.id).toBe('qb');
    expect(resolveThresholds(all, '15m', 'queue:sales').get('asa')?.id).toBe('q*');
    expect(resolveThresholds(all, '15m', 'team:red').get('asa')?.id).toBe('c');
    expect(resolveThresholds(all, '15m', 'center').get('asa')?.id).toBe('c');
    expect(resolveThresholds(all, '15m', 'agent:a1').size).toBe(0);
    expect(resolveThresholds(all, '1h', 'center').size).toBe(0);
  });

  it('a disabled override silences its scope instead of falling back', () => {
    expect(resolveThresholds([center, { ...billing, enabled: false }], '15m', 'queue:billing').size).toBe(0);
  });

  it('evaluation uses the override, and an alert of a threshold that no longer applies is cleared', () => {
    const values = { asa: { value: 50, n: 10 } };
    const fig = { window: '15m' as const, scope: 'queue:billing', values };
    const noWait = (t: Threshold) => ({ ...t, forSeconds: 0 });
    // Center only: 50 > 30 fires for queue:billing under the center threshold.
    const first = evaluate({ thresholds: [noWait(center)], tracks: new Map(), figures: [fig], now: T0, newId: () => 'al_1' });
    expect(first.transitions.map((t) => [t.kind, t.alert.thresholdId])).toEqual([['fired', 'c']]);
    const tracks = new Map(first.changed.map((t) => [`${t.thresholdId}|${t.scope}`, t]));
    // The queue's own threshold (warning 100) now applies: the center's alert for this queue clears, nothing fires.
    const second = evaluate({ thresholds: [noWait(center), noWait(billing)], tracks, figures: [fig], now: T0 + 1000 });
    expect(second.transitions.map((t) => [t.kind, t.alert.thresholdId, t.alert.id])).toEqual([['cleared', 'c', 'al_1']]);
    expect(second.removed).toEqual(['c|queue:billing']);
    // A deleted threshold's open alert clears too.
    const third = evaluate({ thresholds: [], tracks, figures: [], now: T0 + 2000 });
    expect(third.transitions.map((t) => t.kind)).toEqual(['cleared']);
  });
});

describe('alerts whose figure is gone', () => {
  const noWait = (t: Threshold) => ({ ...t, forSeconds: 0 });
  const keyed = (list: Track[]) => new Map(list.map((t) => [`${t.thresholdId}|${t.scope}`, t]));

  it("end when the worker drops their scope (every figure read anew), and a disabled threshold's with them", () => {
    // agent:* AHT above 420 / 600 on the last hour; a17 at 650: critical
    const aht = noWait(threshold({ id: 'thr_aht', kpi: 'aht', scope: 'agent:*', window: '1h', warning: 420, critical: 600, clearBand: 0 }));
    const a17 = { window: '1h' as const, scope: 'agent:a17', values: { aht: { value: 650, n: 4 } } };
    const other = { window: '1h' as const, scope: 'agent:a2', values: { aht: { value: 300, n: 9 } } };
    const fired = evaluate({ thresholds: [aht], tracks: new Map(), figures: [a17, other], now: T0, newId: () => 'al_17' });
    expect(fired.transitions.map((t) => `${t.kind}:${t.alert.level}`)).toEqual(['fired:critical']);
    const tracks = keyed(fired.changed);
    // a publication of other scopes' changes says nothing of a17: its alert stays
    expect(evaluate({ thresholds: [aht], tracks, figures: [other], now: T0 + 1000 }).transitions).toEqual([]);
    // every figure read anew, a17's gone (signed off, dropped at midnight): its alert ends
    const gone = evaluate({ thresholds: [aht], tracks, figures: [other], complete: true, now: T0 + 2000 });
    expect(gone.transitions.map((t) => `${t.kind}:${t.alert.id}`)).toEqual(['cleared:al_17']);
    expect(gone.removed).toEqual(['thr_aht|agent:a17']);
    // the same with its threshold disabled meanwhile (before: kept open while the scope was away)
    const disabled = evaluate({ thresholds: [{ ...aht, enabled: false }], tracks, figures: [other], complete: true, now: T0 + 2000 });
    expect(disabled.transitions.map((t) => t.kind)).toEqual(['cleared']);
  });

  it("of a day's figure end at the center's midnight, with what was pending; a live figure's go on", () => {
    const dayStart = T0 + 3_600_000; // local midnight, an hour after T0
    // today's service level below 80 / 60 fires at T0 (70); a today abandon-rate breach is pending (forSeconds 60);
    // waiting (a live figure, kept under today) above 10 fires at T0 too
    const sl = noWait(threshold({ id: 'thr_sl', kpi: 'service_level', window: 'today', direction: 'below', warning: 80, critical: 60, clearBand: 0 }));
    const ab = threshold({ id: 'thr_ab', kpi: 'abandon_rate', window: 'today', direction: 'above', warning: 10, critical: 20, forSeconds: 600 });
    const waiting = noWait(threshold({ id: 'thr_w', kpi: 'waiting', window: 'today', direction: 'above', warning: 10, critical: 20, clearBand: 0 }));
    const day = { window: 'today' as const, scope: 'center', values: { service_level: { value: 70, n: 50 }, abandon_rate: { value: 15, n: 50 }, waiting: { value: 12, n: 12 } } };
    const before = evaluate({ thresholds: [sl, ab, waiting], tracks: new Map(), figures: [day], dayStart: T0 - 3_600_000, now: T0, newId: () => 'al_x' });
    expect(before.transitions.map((t) => t.alert.kpi).sort()).toEqual(['service_level', 'waiting']);
    const tracks = keyed(before.changed);
    expect(tracks.get('thr_ab|center')!.warningSince).toBe(T0);
    // 00:00:30: today's figures are null (no contact yet); 12 still wait
    const night = { window: 'today' as const, scope: 'center', values: { service_level: { value: null, n: 0 }, abandon_rate: { value: null, n: 0 }, waiting: { value: 12, n: 12 } } };
    const after = evaluate({ thresholds: [sl, ab, waiting], tracks, figures: [night], dayStart, now: dayStart + 30_000 });
    expect(after.transitions.map((t) => `${t.kind}:${t.alert.kpi}`)).toEqual(['cleared:service_level']);
    expect(after.removed.sort()).toEqual(['thr_ab|center', 'thr_sl|center']);
    expect(after.changed).toEqual([]); // waiting's alert goes on, untouched
  });
});

describe('a threshold edited while its alert is open', () => {
  it('to another KPI, window or direction: the alert about the old figure ends, and the new one is judged afresh', () => {
    // center ASA above 30 / 60 (15m), open at warning with 40
    const asa = threshold({ forSeconds: 0 });
    const first = evaluate({ thresholds: [asa], tracks: new Map(), figures: [{ window: '15m', scope: 'center', values: { asa: { value: 40, n: 9 } } }], now: T0, newId: () => 'al_1' });
    const tracks = new Map(first.changed.map((t) => [`${t.thresholdId}|${t.scope}`, t]));
    // the same threshold id, now abandon rate above 10 / 20, at 25: the ASA alert clears, an abandon-rate one fires
    const abandon = { ...asa, kpi: 'abandon_rate' as const, warning: 10, critical: 20 };
    const values = { asa: { value: 25, n: 9 }, abandon_rate: { value: 25, n: 40 } };
    const edited = evaluate({ thresholds: [abandon], tracks, figures: [{ window: '15m', scope: 'center', values }], now: T0 + 1000, newId: () => 'al_2' });
    expect(edited.transitions.map((t) => `${t.kind}:${t.alert.id}:${t.alert.kpi}:${t.alert.level}`)).toEqual(['cleared:al_1:asa:ok', 'fired:al_2:abandon_rate:critical']);
    // edited to the 1h window with nothing breaching there: the 15m alert ends, nothing fires, no track is left
    const hour = { ...asa, window: '1h' as const };
    const moved = evaluate({ thresholds: [hour], tracks, figures: [{ window: '1h', scope: 'center', values: { asa: { value: 20, n: 30 } } }], now: T0 + 2000 });
    expect(moved.transitions.map((t) => `${t.kind}:${t.alert.window}`)).toEqual(['cleared:15m']);
    expect(moved.removed).toEqual(['thr_asa|center']);
  });
});

describe('a minimum sample (minCount)', () => {
  it('judges a figure only from that many: one call abandoned of one is no data; ten of forty fires; too few again leaves the alert as it is', () => {
    // abandon rate above 10 / 20 % (15m), judged from 10 offered at least
    const t = threshold({ id: 'thr_ab', kpi: 'abandon_rate', warning: 10, critical: 20, forSeconds: 0, clearBand: 0, minCount: 10 });
    const at = (values: Record<string, { value: number | null; n: number }>, tracks = new Map(), now = T0) =>
      evaluate({ thresholds: [t], tracks, figures: [{ window: '15m', scope: 'queue:billing', values }], now, newId: () => 'al_min' });
    // 1 abandoned of 1 offered: 100 %, n = 1 < 10: nothing fires, no track
    const one = at({ abandon_rate: { value: 100, n: 1 } });
    expect([one.transitions, one.changed]).toEqual([[], []]);
    // 9 of 9: still too few (n 9 < 10)
    expect(at({ abandon_rate: { value: 100, n: 9 } }).transitions).toEqual([]);
    // 10 of 40 = 25 %, n = 40 ≥ 10: critical (25 > 20)
    const many = at({ abandon_rate: { value: 25, n: 40 } });
    expect(many.transitions.map((x) => `${x.kind}:${x.alert.level}`)).toEqual(['fired:critical']);
    // the next quarter hour starts: 0 of 2 (0 %, n = 2 < 10) is no evidence that things got better: the alert stays
    const tracks = new Map(many.changed.map((x) => [`${x.thresholdId}|${x.scope}`, x]));
    const early = at({ abandon_rate: { value: 0, n: 2 } }, tracks, T0 + 1000);
    expect([early.transitions, early.removed]).toEqual([[], []]);
    // with 0 (any sample) it would have cleared at once
    const any = evaluate({ thresholds: [{ ...t, minCount: 0 }], tracks, figures: [{ window: '15m', scope: 'queue:billing', values: { abandon_rate: { value: 0, n: 2 } } }], now: T0 + 1000 });
    expect(any.transitions.map((x) => x.kind)).toEqual(['cleared']);
  });
});

describe('threshold validation', () => {
  const ok: ThresholdInput = { kpi: 'service_level', scope: 'queue:billing', window: '15m', direction: 'below', warning: 80, critical: 60, forSeconds: 60, clearBand: 5, minCount: 0, enabled: true };
  const problems = (over: Partial<ThresholdInput>) => {
    try {
      validateThreshold({ ...ok, ...over });
      return [];
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      return ((err as ApiError).details as Array<{ path: string }>).map((d) => d.path);
    }
  };

  it('accepts a sound threshold and normalizes nothing it need not', () => {
    expect(validateThreshold(ok)).toEqual(ok);
    expect(problems({ scope: 'queue:*' })).toEqual([]);
  });

  it('refuses an unknown KPI, a bad scope, unordered levels, levels out of range and a band that cannot be reached', () => {
    expect(problems({ kpi: 'happiness' })).toEqual(['/kpi']);
    expect(problems({ scope: 'floor:2' })).toEqual(['/scope']);
    expect(problems({ critical: 90 })).toEqual(['/critical']); // below: critical must be under warning
    expect(problems({ direction: 'above' })).toEqual(['/critical']);
    expect(problems({ warning: 120, critical: 60 })).toEqual(['/warning', '/clearBand']);
    expect(problems({ kpi: 'nps', warning: -101, critical: -120 })).toEqual(['/warning', '/critical']);
    expect(problems({ clearBand: 25 })).toEqual(['/clearBand']); // 80 + 25 > 100
    expect(problems({ kpi: 'staffing_gap', direction: 'above', warning: 2, critical: 5, clearBand: 100 })).toEqual([]); // unbounded
  });
});
