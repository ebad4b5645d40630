import { describe, expect, it } from 'vitest';
import { KPI_CATALOG, KPI_KEYS } from '../../server/kpi/catalog.ts';
import { queueFigureWarnings, tileWarnings } from '../../wallboard/src/lib/queue-figures.ts';

const catalog = KPI_CATALOG; // the catalog the console reads (GET /v1/kpis/catalog): labels and queueFigure
const QUEUE_FIGURES = KPI_CATALOG.filter((d) => d.queueFigure).map((d) => d.key as string);

describe('board editor: queue figures on a team or agent', () => {
  it('warns that abandon rate on a team counts only offers naming the team, and says to show it per queue', () => {
    expect(tileWarnings({ kind: 'kpi', kpi: 'abandon_rate', scope: 'team:red', window: 'today' }, catalog)).toEqual([
      "Abandon rate on a team counts only offers whose ACD event names the team; most ACDs don't — show it per queue.",
    ]);
    expect(tileWarnings({ kind: 'trend', kpi: 'waiting', scope: 'agent:a17' }, catalog)).toEqual([
      'Waiting on an agent counts only offers whose ACD event names the agent; an offered contact has reached no agent yet — show it per queue.',
    ]);
  });

  it('warns for every offer-, abandon- and wait-based figure on a team or agent, and for none elsewhere', () => {
    // the catalog's queue figures: what is built on offers, abandons or waits (Erlang C from offers)
    expect(QUEUE_FIGURES.sort()).toEqual(['abandon_rate', 'abandoned', 'longest_wait', 'offered', 'required_agents', 'service_level', 'short_abandoned', 'staffing_gap', 'waiting']);
    for (const kpi of KPI_KEYS) {
      const queueFigure = QUEUE_FIGURES.includes(kpi);
      for (const scope of ['team:red', 'agent:a17']) expect(queueFigureWarnings([kpi], [scope], KPI_CATALOG).length, `${kpi} ${scope}`).toBe(queueFigure ? 1 : 0);
      for (const scope of ['center', 'queue:billing', 'channel:chat', 'queue:*']) expect(queueFigureWarnings([kpi], [scope], KPI_CATALOG), `${kpi} ${scope}`).toEqual([]);
    }
    // what agents do is theirs on a team: answered, AHT, ASA, occupancy, CSAT, FCR, FRT
    for (const kpi of ['answered', 'aht', 'asa', 'occupancy', 'csat', 'fcr', 'frt']) expect(QUEUE_FIGURES).not.toContain(kpi);
  });

  it('warns of nothing for a KPI the catalog does not know', () => {
    expect(queueFigureWarnings(['no_such_kpi'], ['team:red'], KPI_CATALOG)).toEqual([]);
  });

  it('gives a table one sentence per scope kind, naming its queue-figure columns; team:* is a team', () => {
    const table = { kind: 'table' as const, kpis: ['answered', 'abandon_rate', 'waiting', 'service_level'], scopes: ['queue:billing', 'team:*', 'agent:a1', 'team:red'], window: '15m' as const };
    expect(tileWarnings(table, catalog)).toEqual([
      "Abandon rate, Waiting and Service level on a team count only offers whose ACD event names the team; most ACDs don't — show them per queue.",
      'Abandon rate, Waiting and Service level on an agent count only offers whose ACD event names the agent; an offered contact has reached no agent yet — show them per queue.',
    ]);
    expect(tileWarnings({ ...table, scopes: ['queue:billing', 'queue:*', 'center'] }, catalog)).toEqual([]);
    expect(tileWarnings({ ...table, kpis: ['answered', 'aht'] }, catalog)).toEqual([]);
  });

  it("warns on an agents tile of a team (its waiting and longest wait), not on a roster or the alerts", () => {
    expect(tileWarnings({ kind: 'agents', scope: 'team:red' }, catalog)).toEqual([
      "Waiting and Longest wait on a team count only offers whose ACD event names the team; most ACDs don't — show them per queue.",
    ]);
    expect(tileWarnings({ kind: 'agents', scope: 'queue:billing' }, catalog)).toEqual([]);
    expect(tileWarnings({ kind: 'roster', scope: 'team:red' }, catalog)).toEqual([]);
    expect(tileWarnings({ kind: 'alerts' }, catalog)).toEqual([]);
  });
});
