// Thresholds as GET /v1/thresholds returns them, reduced to what the wallboard draws and colours with.
import type { ThresholdView } from './alert-display.ts';

export function toThresholdView(raw: unknown): ThresholdView | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  if (typeof r.kpi !== 'string' || typeof r.scope !== 'string' || typeof r.window !== 'string') return null;
  if (typeof r.warning !== 'number' || typeof r.critical !== 'number') return null;
  if (r.direction !== 'above' && r.direction !== 'below') return null;
  return {
    id: String(r.id ?? ''),
    kpi: r.kpi,
    scope: r.scope,
    window: r.window,
    direction: r.direction,
    warning: r.warning,
    critical: r.critical,
    forSeconds: typeof r.forSeconds === 'number' ? r.forSeconds : 0,
    minCount: typeof r.minCount === 'number' ? r.minCount : 0,
    enabled: r.enabled !== false,
  };
}
