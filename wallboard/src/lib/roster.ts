// The roster tile's arithmetic: which agents it lists, in which order, and how long each has been in their state.
// Pure, DOM-free (unit-tested in node).
import type { RosterAgent, RosterState } from '../../../server/live/protocol.ts';
import { formatDuration } from './format.ts';

/** The states in the order of the agents strip; a roster tile shows these unless it names its own. */
export const ROSTER_STATE_LABELS: ReadonlyArray<readonly [RosterState, string]> = [
  ['available', 'Available'],
  ['busy', 'Busy'],
  ['acw', 'Wrap-up'],
  ['aux', 'Aux'],
];

/** Every state, in that order: what a roster tile shows unless it names its own. */
export const ALL_ROSTER_STATES: readonly RosterState[] = ROSTER_STATE_LABELS.map(([s]) => s);

export const rosterStateLabel = (state: RosterState): string => ROSTER_STATE_LABELS.find(([s]) => s === state)?.[1] ?? state;

/** A roster tile's title: "Agents" when it shows every state, else the states it shows ("Aux & Wrap-up"). */
export function rosterTitle(states: readonly RosterState[]): string {
  if (ALL_ROSTER_STATES.every((s) => states.includes(s))) return 'Agents';
  const labels = states.map(rosterStateLabel);
  return labels.length === 1 ? labels[0]! : `${labels.slice(0, -1).join(', ')} & ${labels.at(-1)}`;
}

/**
 * The agents a tile lists: those in `states`, state by state in that order, each state's agents as the server sent
 * them (the longest in their state first) — but those `over` their limit first, so that a small tile never hides the
 * exceptions; and how many agents are in those states in all (the server may send fewer than it counts).
 */
export function rosterCards(
  agents: readonly RosterAgent[],
  counts: Record<RosterState, number>,
  states: readonly RosterState[],
  over: (agent: RosterAgent) => boolean = () => false,
): { agents: RosterAgent[]; total: number } {
  const ordered: RosterAgent[] = [];
  for (const state of states) for (const a of agents) if (a.state === state) ordered.push(a);
  const flagged = ordered.filter(over);
  return {
    agents: flagged.length > 0 ? [...flagged, ...ordered.filter((a) => !flagged.includes(a))] : ordered,
    total: states.reduce((n, s) => n + (counts[s] ?? 0), 0),
  };
}

/** Whether an agent has been in their state longer than the tile's limit for it (minutes; none: never). */
export function overLimit(agent: Pick<RosterAgent, 'state' | 'since'>, now: number, limits: Partial<Record<RosterState, number>> | undefined): boolean {
  const minutes = limits?.[agent.state];
  const at = Date.parse(agent.since);
  return minutes !== undefined && Number.isFinite(at) && now - at > minutes * 60_000;
}

/** Time in state as m:ss (h:mm:ss from an hour); never negative (a server clock ahead of the estimate). */
export function timeInState(since: string, now: number): string {
  const at = Date.parse(since);
  return formatDuration(Number.isFinite(at) ? Math.max(0, (now - at) / 1000) : Number.NaN);
}

/** A tile's limits as the console writes them: "aux:15, acw:3". */
export function formatLimits(limits: Partial<Record<RosterState, number>> | undefined): string {
  return Object.entries(limits ?? {})
    .map(([state, minutes]) => `${state}:${minutes}`)
    .join(', ');
}

/**
 * The console's "aux:15, acw:3" as a tile's `limits` (none when empty). An entry it cannot read is passed on as
 * written ({"lunch": 15}, {"aux": "soon"}), so that the API's refusal names it.
 */
export function parseLimits(text: string): Record<string, number | string> | undefined {
  const out: Record<string, number | string> = {};
  for (const entry of text.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const [state = '', minutes = ''] = entry.split(':').map((p) => p.trim());
    out[state] = /^\d+$/.test(minutes) ? Number(minutes) : minutes;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
