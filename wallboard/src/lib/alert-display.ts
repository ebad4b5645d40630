// The alert display rules: which colour and non-colour cue a tile shows, which alerts flash, which beep, and what the
// alerts list shows. Pure and DOM-free (unit-tested in node); time is always passed in.
import type { Alert, LiveWindow } from '../../../server/live/protocol.ts';
import { specificity } from '../../../server/alerts/specificity.ts';

export type TileLevel = 'neutral' | 'warning' | 'critical';

/** A threshold as GET /v1/thresholds returns it (the fields the wallboard uses). */
export interface ThresholdView {
  id: string;
  kpi: string;
  /** A scope, or `<kind>:*` for every scope of a kind. */
  scope: string;
  window: string;
  direction: 'above' | 'below';
  warning: number;
  critical: number;
  forSeconds?: number;
  /** The least sample size judged: a value from fewer (its `n`) is no data, as in the alert engine. */
  minCount?: number;
  enabled?: boolean;
}

/** How long a new critical alert flashes. */
export const FLASH_MS = 6_000;
/** An alert list is capped so a storm cannot grow the page. */
export const MAX_LISTED_ALERTS = 12;

const RANK: Record<TileLevel, number> = { neutral: 0, warning: 1, critical: 2 };

export function maxLevel(a: TileLevel, b: TileLevel): TileLevel {
  return RANK[a] >= RANK[b] ? a : b;
}

/** The non-colour cue for colour-blind viewers: a shape and a word (screen readers) per level. */
export function levelCue(level: TileLevel): { icon: string; word: string } {
  switch (level) {
    case 'critical':
      return { icon: '▲', word: 'critical' };
    case 'warning':
      return { icon: '●', word: 'warning' };
    case 'neutral':
      return { icon: '', word: '' };
  }
}

export function isOpen(alert: Alert): boolean {
  return alert.endedAt === null && alert.level !== 'ok';
}

/**
 * The level of a value from a sample of `n` against a threshold (no hysteresis: that is the alert engine's business).
 * A sample smaller than the threshold's minCount is no data: neutral.
 */
export function thresholdLevel(value: number | null | undefined, t: ThresholdView, n = Number.POSITIVE_INFINITY): TileLevel {
  if (value === null || value === undefined || !Number.isFinite(value) || t.enabled === false) return 'neutral';
  if (n < (t.minCount ?? 0)) return 'neutral';
  // strict, as in the alert engine: a service level of exactly its 80 % target meets it
  const past = (level: number) => (t.direction === 'above' ? value > level : value < level);
  if (past(t.critical)) return 'critical';
  if (past(t.warning)) return 'warning';
  return 'neutral';
}

/**
 * The threshold in force for a (kpi, scope, window): the most specific one; a disabled one still shadows less
 * specific ones (undefined then), as in the alert engine. Without `window`: the one in force for each window.
 */
export function thresholdsFor(thresholds: readonly ThresholdView[], kpi: string, scope: string, window?: string): ThresholdView[] {
  const best = new Map<string, { t: ThresholdView; s: number }>();
  for (const t of thresholds) {
    if (t.kpi !== kpi || (window !== undefined && t.window !== window)) continue;
    const s = specificity(t.scope, scope);
    if (s < 0) continue;
    const cur = best.get(t.window);
    if (!cur || s > cur.s) best.set(t.window, { t, s });
  }
  return [...best.values()].map((b) => b.t).filter((t) => t.enabled !== false);
}

/**
 * A tile's level: the highest of its open alerts (the server's verdict, with its hold times and hysteresis) and,
 * so a TV turns the moment a value crosses, of the thresholds without a hold time evaluated on the value it shows.
 */
export function tileLevel(
  tile: { kpi: string; scope: string; window: LiveWindow },
  value: number | null | undefined,
  alerts: Iterable<Alert>,
  thresholds: readonly ThresholdView[],
  /** The value's sample size (its `n`); unknown: any. */
  n?: number,
): TileLevel {
  let level: TileLevel = 'neutral';
  for (const a of alerts) {
    if (a.kpi === tile.kpi && a.scope === tile.scope && a.window === tile.window && isOpen(a)) level = maxLevel(level, a.level as TileLevel);
  }
  for (const t of thresholdsFor(thresholds, tile.kpi, tile.scope, tile.window)) {
    if (!t.forSeconds) level = maxLevel(level, thresholdLevel(value, t, n));
  }
  return level;
}

/** Flash: a critical, unacknowledged alert that became critical (or was first seen critical) less than FLASH_MS ago. */
export function shouldFlash(alert: Alert, criticalSince: number | undefined, now: number): boolean {
  return isOpen(alert) && alert.level === 'critical' && alert.acknowledgedBy === null && criticalSince !== undefined && now - criticalSince < FLASH_MS;
}

/**
 * Keeps the open alerts and when each was first seen critical. Bounded: ended alerts are dropped at once, so a
 * board that runs for weeks holds at most the open alerts. `apply` returns whether the change deserves a sound.
 */
export class AlertBook {
  readonly open = new Map<string, Alert>();
  /** id → when this page first saw the alert critical. */
  readonly criticalSince = new Map<string, number>();

  /** The full list (sent on subscribe and after every reconnect): replaces everything, never beeps. */
  replace(alerts: readonly Alert[], now: number): void {
    const keep = new Map<string, number>();
    this.open.clear();
    for (const a of alerts) {
      if (!isOpen(a)) continue;
      this.open.set(a.id, a);
      // an alert already critical before the reconnect keeps its time; one that escalated meanwhile flashes now
      if (a.level === 'critical') keep.set(a.id, this.criticalSince.get(a.id) ?? now - FLASH_MS);
    }
    this.criticalSince.clear();
    for (const [k, v] of keep) this.criticalSince.set(k, v);
  }

  /** One change. True when it is a new critical, unacknowledged alert: the moment to beep. */
  apply(alert: Alert, now: number): boolean {
    if (!isOpen(alert)) {
      this.open.delete(alert.id);
      this.criticalSince.delete(alert.id);
      return false;
    }
    this.open.set(alert.id, alert);
    if (alert.level !== 'critical') {
      this.criticalSince.delete(alert.id);
      return false;
    }
    if (this.criticalSince.has(alert.id)) return false;
    this.criticalSince.set(alert.id, now);
    return alert.acknowledgedBy === null;
  }

  /** What the alerts list shows: critical before warning, unacknowledged before acknowledged, newest first; capped. */
  listed(limit = MAX_LISTED_ALERTS): Alert[] {
    const score = (a: Alert) => (a.level === 'critical' ? 2 : 0) + (a.acknowledgedBy === null ? 1 : 0);
    return [...this.open.values()].sort((a, b) => score(b) - score(a) || b.startedAt.localeCompare(a.startedAt)).slice(0, limit);
  }

  flashing(now: number): Set<string> {
    const out = new Set<string>();
    for (const a of this.open.values()) if (shouldFlash(a, this.criticalSince.get(a.id), now)) out.add(a.id);
    return out;
  }
}

/** "acknowledged by anna 14:07" or "" */
export function ackLine(alert: Alert, clock: (iso: string) => string): string {
  return alert.acknowledgedBy ? `ack ${alert.acknowledgedBy}${alert.acknowledgedAt ? ` ${clock(alert.acknowledgedAt)}` : ''}` : '';
}

/**
 * How many of the open alerts a list shows when `fit` rows fit in its tile: whole rows only (a row cut in half reads
 * as nothing from across the room), at least one; the heading says how many more there are.
 */
export function alertRows(open: number, fit: number): { shown: number; more: number } {
  const shown = Math.min(open, Math.max(1, fit));
  return { shown, more: open - shown };
}

/** The open alerts by level, for the list's heading: "2 critical · 3 warning". */
export function alertCounts(alerts: Iterable<Alert>): { critical: number; warning: number } {
  const out = { critical: 0, warning: 0 };
  for (const a of alerts) if (a.level === 'critical' || a.level === 'warning') out[a.level]++;
  return out;
}
