// The roster: every signed-in agent (any state but offline, and younger than AGENT_STATE_MAX_HOURS), their state,
// since when and why, as the KPI worker's rollup holds them after each recomputation. The worker stores it in Redis
// and publishes what changed (an agent whose state expires is removed like one who signed off); each API process's
// live hub keeps a copy and sends each subscribed scope's part to the wallboards (docs/live.md, `roster`).
//   <prefix>:kpi:roster         hash  agentId → RosterAgent JSON
//   <prefix>:kpi:roster-as-of   string  ISO time of the recomputation that wrote it (absent: no worker has yet)
//   channel <prefix>:kpi:roster   {"type":"kpi.roster","asOf":…,"full":…,"changed":[…],"removed":[agentId…]}
// A `full` message (once a minute) lists every agent, and a reader replaces what it holds: one that missed a message
// (a Redis reconnect) is right again within a minute.
import type { ClickHouseClient } from '@clickhouse/client';
import type { Redis } from 'ioredis';
import { MAX_ROSTER_PER_STATE, ROSTER_STATES, type RosterAgent, type RosterState, type ServerMessage } from '../live/protocol.ts';
import { agentStateOf, currentAgentStatesSql, rows } from './compute.ts';
import { cmp } from './measures.ts';
import { scopesOf } from './scopes.ts';

export interface RosterNames {
  roster: string;
  asOf: string;
  channel: string;
}

export function rosterNames(prefix: string): RosterNames {
  return { roster: `${prefix}:kpi:roster`, asOf: `${prefix}:kpi:roster-as-of`, channel: `${prefix}:kpi:roster` };
}

export interface RosterPublication {
  type: 'kpi.roster';
  asOf: string;
  full: boolean;
  changed: RosterAgent[];
  removed: string[];
}

export type RosterMessage = Extract<ServerMessage, { type: 'roster' }>;

const STATE_SET: ReadonlySet<string> = new Set(ROSTER_STATES);

/** A roster entry from an agent's latest state, or null when that state does not put them on the roster (offline). */
export function rosterAgent(
  agentId: string,
  a: { state: string; t: number; reason: string; name: string; queue: string; team: string; channel: string },
): RosterAgent | null {
  if (!STATE_SET.has(a.state)) return null;
  return { agentId, name: a.name, state: a.state as RosterState, since: new Date(a.t).toISOString(), reason: a.reason, queue: a.queue, team: a.team, channel: a.channel };
}

/**
 * The roster at `now` straight from ClickHouse (kpi_agent_state, without the agents whose state expired: see
 * isStateExpired), for when no worker has stored one yet.
 */
export async function computeRoster(ch: ClickHouseClient, now: number): Promise<RosterAgent[]> {
  const out: RosterAgent[] = [];
  for (const r of await rows(ch, currentAgentStatesSql(), { now })) {
    const { agentId, ...state } = agentStateOf(r);
    const a = rosterAgent(agentId, state);
    if (a) out.push(a);
  }
  return out;
}

/**
 * Stores `agents` as the roster and publishes what changed since `previous` (agentId → entry JSON, kept by the caller
 * between calls). With `full` (or an empty `previous`), the stored roster is replaced as a whole and the message lists
 * every agent.
 */
export async function storeRoster(
  redis: Redis,
  names: RosterNames,
  agents: readonly RosterAgent[],
  asOf: string,
  previous: Map<string, string>,
  opts: { full?: boolean } = {},
): Promise<void> {
  const full = opts.full === true || previous.size === 0;
  const next = new Map(agents.map((a) => [a.agentId, JSON.stringify(a)]));
  const changed = agents.filter((a) => previous.get(a.agentId) !== next.get(a.agentId));
  const removed = [...previous.keys()].filter((id) => !next.has(id));
  if (!full && changed.length === 0 && removed.length === 0) return;
  const written = full ? agents : changed;
  const tx = redis.multi();
  if (full) tx.del(names.roster);
  else if (removed.length > 0) tx.hdel(names.roster, ...removed);
  if (written.length > 0) tx.hset(names.roster, ...written.flatMap((a) => [a.agentId, next.get(a.agentId)!]));
  tx.set(names.asOf, asOf);
  tx.publish(names.channel, JSON.stringify({ type: 'kpi.roster', asOf, full, changed: [...written], removed: full ? [] : removed } satisfies RosterPublication));
  const results = await tx.exec();
  const failed = results?.find(([err]) => err);
  if (!results || failed) throw failed?.[0] ?? new Error('redis transaction aborted');
  previous.clear();
  for (const [k, v] of next) previous.set(k, v);
}

/** The stored roster, or null when no worker has stored one yet. */
export async function readRoster(redis: Redis, names: RosterNames): Promise<{ asOf: string; agents: RosterAgent[] } | null> {
  const results = await redis.multi().get(names.asOf).hgetall(names.roster).exec();
  const failed = results?.find(([err]) => err);
  if (!results || failed) throw failed?.[0] ?? new Error('redis transaction aborted');
  const asOf = results[0]![1] as string | null;
  if (asOf === null) return null;
  return { asOf, agents: Object.values(results[1]![1] as Record<string, string>).map((v) => JSON.parse(v) as RosterAgent) };
}

/** The scopes an agent is on the roster of. */
export const rosterScopes = (a: RosterAgent): string[] => scopesOf(a.queue, a.team, a.channel, a.agentId);

const STATE_ORDER = Object.fromEntries(ROSTER_STATES.map((s, i) => [s, i])) as Record<RosterState, number>;

/**
 * The `roster` message of one scope: its agents by state (ROSTER_STATES order), the longest in their state first,
 * at most MAX_ROSTER_PER_STATE a state, and how many there are in each state.
 */
export function rosterMessage(agents: Iterable<RosterAgent>, scope: string, asOf: string): RosterMessage {
  const counts = Object.fromEntries(ROSTER_STATES.map((s) => [s, 0])) as Record<RosterState, number>;
  const inScope: RosterAgent[] = [];
  for (const a of agents) {
    if (!rosterScopes(a).includes(scope)) continue;
    counts[a.state]++;
    inScope.push(a);
  }
  inScope.sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || cmp(a.since, b.since) || cmp(a.agentId, b.agentId));
  const kept: RosterAgent[] = [];
  const shown = Object.fromEntries(ROSTER_STATES.map((s) => [s, 0])) as Record<RosterState, number>;
  for (const a of inScope) if (shown[a.state]++ < MAX_ROSTER_PER_STATE) kept.push(a);
  return { type: 'roster', scope, asOf, counts, agents: kept };
}
