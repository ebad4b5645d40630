// The alert state machine, pure: no I/O, the clock passed in. One track per (threshold, figure scope):
//
//   ok ──breach──▶ pending ──held forSeconds──▶ warning ──critical breach held forSeconds──▶ critical
//    ▲                │ breach ends                │  ▲                                        │
//    │                ▼                            │  └─ below critical − clearBand, held ◀────┘
//    └──── ok ◀───────┘       ok ◀── past warning by clearBand, held (from warning or critical) ┘
//
// - A breach is strict: `above` means value > level, `below` value < level.
// - forSeconds: the breach must hold continuously (every evaluation in between breaching) for that long before the
//   alert fires or escalates; the level fired is the highest one held that long. And the recovery likewise: an open
//   alert goes down (deescalates or clears) only once the value has stayed past a lower level's band that long, so a
//   value that dips for a moment (a burst of answers, the oldest caller answered) does not clear an alert that fires
//   again a minute later as a new one, unacknowledged.
// - clearBand: a level is left only once the value is past it by clearBand (warning − clearBand for `above`).
// - A null value (no data) never fires nor escalates: it resets any pending breach and recovery, and leaves an open
//   alert as it is (no data is no evidence that things got better).
import type { Alert, AlertLevel } from '../live/protocol.ts';
import type { Threshold } from './thresholds.ts';

export type Level = 'ok' | AlertLevel;
export type TransitionKind = 'fired' | 'escalated' | 'deescalated' | 'cleared';

/** What the engine remembers per (threshold, scope); persisted so a restart neither re-fires nor loses an alert. */
export interface Track {
  thresholdId: string;
  scope: string;
  /** Since when the value has breached the warning level without interruption (ms), or null. */
  warningSince: number | null;
  /** Since when it has breached the critical level without interruption (ms), or null. */
  criticalSince: number | null;
  /** The open alert as of its last transition (its `value` is the value then), or null. */
  alert: Alert | null;
  /** Since when the open alert's value has been past a lower level (with the band) without interruption (ms), or null. */
  lowerSince?: number | null;
  /** Time of the open alert's last transition (ms): the next one is recorded strictly after it. */
  alertAt?: number | null;
}

export interface Transition {
  kind: TransitionKind;
  at: number;
  alert: Alert;
}

export interface StepResult {
  track: Track;
  transition: Transition | null;
  /** The track differs from the one given (persist it). */
  changed: boolean;
}

const RANK: Record<Level, number> = { ok: 0, warning: 1, critical: 2 };

export const trackKey = (thresholdId: string, scope: string) => `${thresholdId}|${scope}`;

export function emptyTrack(thresholdId: string, scope: string): Track {
  return { thresholdId, scope, warningSince: null, criticalSince: null, alert: null, alertAt: null, lowerSince: null };
}

type Levels = Pick<Threshold, 'direction' | 'warning' | 'critical' | 'clearBand'>;

/** Whether `value` is past `level` (strictly) in the threshold's direction, after moving the level by `band` back. */
function past(t: Levels, value: number, level: number, band = 0): boolean {
  return t.direction === 'above' ? value > level - band : value < level + band;
}

const levelValue = (t: Levels, level: AlertLevel) => (level === 'critical' ? t.critical : t.warning);

/** The level an open alert holds at `value` with hysteresis: it keeps a level until the value is past it by clearBand. */
export function heldLevel(t: Levels, value: number): Level {
  if (past(t, value, t.critical, t.clearBand)) return 'critical';
  if (past(t, value, t.warning, t.clearBand)) return 'warning';
  return 'ok';
}

/**
 * One evaluation of a track at `now` with the figure's current `value`. Returns the new track and the transition
 * it made, if any. `newId` names a new alert.
 */
export function step(prev: Track, t: Threshold, value: number | null, now: number, newId: () => string): StepResult {
  let warningSince = prev.warningSince;
  let criticalSince = prev.criticalSince;
  if (value === null) {
    warningSince = null;
    criticalSince = null;
  } else {
    warningSince = past(t, value, t.warning) ? (warningSince ?? now) : null;
    criticalSince = past(t, value, t.critical) ? (criticalSince ?? now) : null;
  }
  const held = (since: number | null) => since !== null && now - since >= t.forSeconds * 1000;
  // The level the breach has earned: held long enough, without hysteresis.
  const earned: Level = held(criticalSince) ? 'critical' : held(warningSince) ? 'warning' : 'ok';

  const open = prev.alert;
  // Transitions of one alert get strictly increasing times (its latest row in ClickHouse is its state).
  const at = open ? Math.max(now, (prev.alertAt ?? 0) + 1) : now;
  let transition: Transition | null = null;
  let alert = open;
  let lowerSince: number | null = null;
  if (!open) {
    if (earned !== 'ok' && value !== null) {
      alert = {
        id: newId(),
        thresholdId: t.id,
        kpi: t.kpi,
        scope: prev.scope,
        window: t.window,
        level: earned,
        peak: earned,
        value,
        threshold: levelValue(t, earned),
        direction: t.direction,
        startedAt: new Date(now).toISOString(),
        endedAt: null,
        acknowledgedBy: null,
        acknowledgedAt: null,
      };
      transition = { kind: 'fired', at: now, alert };
    }
  } else if (value !== null) {
    const current = open.level as AlertLevel;
    // Up: only what was earned (forSeconds). Down: only past the band (hysteresis), held forSeconds. Otherwise stay.
    let next: Level = current;
    if (RANK[earned] > RANK[current]) next = earned;
    else {
      const h = heldLevel(t, value);
      if (RANK[h] < RANK[current]) {
        lowerSince = prev.lowerSince ?? now;
        if (held(lowerSince)) next = h;
      }
    }
    if (next !== current) {
      const kind: TransitionKind = next === 'ok' ? 'cleared' : RANK[next] > RANK[current] ? 'escalated' : 'deescalated';
      alert = {
        ...open,
        level: next,
        peak: RANK[next] > RANK[open.peak] ? (next as AlertLevel) : open.peak,
        value,
        threshold: next === 'ok' ? t.warning : levelValue(t, next),
        endedAt: next === 'ok' ? new Date(now).toISOString() : null,
      };
      transition = { kind, at, alert };
      lowerSince = null;
      if (next === 'ok') alert = null;
    }
  }
  const alertAt = alert === null ? null : transition ? at : (prev.alertAt ?? null);
  const track: Track = { thresholdId: prev.thresholdId, scope: prev.scope, warningSince, criticalSince, alert, alertAt, lowerSince };
  const changed =
    track.warningSince !== prev.warningSince || track.criticalSince !== prev.criticalSince || lowerSince !== (prev.lowerSince ?? null) || transition !== null;
  return { track, transition, changed };
}

/** Ends a track's open alert because its threshold no longer applies (deleted, disabled or overridden). */
export function retire(prev: Track, now: number): Transition | null {
  if (!prev.alert) return null;
  const at = Math.max(now, (prev.alertAt ?? 0) + 1);
  return { kind: 'cleared', at, alert: { ...prev.alert, level: 'ok', endedAt: new Date(now).toISOString() } };
}
