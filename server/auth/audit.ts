// The audit log: one ClickHouse row per security-relevant action (docs/security.md lists the actions).
import type { ClickHouseClient } from '@clickhouse/client';
import type { Log } from '../log.ts';
import { chTime } from '../clickhouse/time.ts';

export interface Actor {
  actor_kind: 'user' | 'display' | 'ingest' | 'cli' | 'system' | 'anonymous';
  actor_id: string;
  actor_name: string;
  ip: string;
  user_agent: string;
}

export interface AuditEntry {
  action: string;
  outcome?: 'ok' | 'denied' | 'failed' | 'rate_limited';
  object_kind: string;
  object_id: string;
  /** Action-specific fields. Never a secret. */
  details?: Record<string, unknown>;
}

export interface AuditRow extends Actor {
  at: string;
  action: string;
  outcome: string;
  object_kind: string;
  object_id: string;
  details: string;
}

export class AuditLog {
  constructor(
    private readonly ch: ClickHouseClient,
    private readonly log?: Log,
  ) {}

  /** Writes the entry; a failure is logged as an error (the action itself already happened), never thrown. */
  async record(actor: Actor, entry: AuditEntry): Promise<void> {
    const row: AuditRow = {
      ...actor,
      user_agent: actor.user_agent.slice(0, 512),
      at: chTime(Date.now()),
      action: entry.action,
      outcome: entry.outcome ?? 'ok',
      object_kind: entry.object_kind,
      object_id: entry.object_id,
      details: JSON.stringify(entry.details ?? {}),
    };
    try {
      await this.ch.insert({ table: 'audit_log', format: 'JSONEachRow', values: [row] });
    } catch (err) {
      this.log?.error({ err: (err as Error).message, action: entry.action, object_id: entry.object_id }, 'could not write the audit log');
    }
  }

  /** When each user last signed in (a successful login), by user id. */
  async lastSignIns(): Promise<Map<string, string>> {
    const rs = await this.ch.query({
      query: `SELECT actor_id, max(at) AS at FROM audit_log WHERE action = 'auth.login' AND outcome = 'ok' AND actor_kind = 'user' GROUP BY actor_id`,
      format: 'JSONEachRow',
    });
    return new Map((await rs.json<{ actor_id: string; at: string }>()).map((r) => [r.actor_id, r.at]));
  }

  async query(filter: { sinceMs?: number; untilMs?: number; action?: string; actor?: string; limit?: number }): Promise<AuditRow[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: Math.min(filter.limit ?? 100, 1000) };
    if (filter.sinceMs !== undefined) {
      where.push(`at >= {since:DateTime64(3, 'UTC')}`);
      params.since = chTime(filter.sinceMs);
    }
    if (filter.untilMs !== undefined) {
      where.push(`at < {until:DateTime64(3, 'UTC')}`);
      params.until = chTime(filter.untilMs);
    }
    if (filter.action) {
      where.push('action = {action:String}');
      params.action = filter.action;
    }
    if (filter.actor) {
      // as typed: a username is lower-case, a display's or a key's name need not be
      where.push('lowerUTF8(actor_name) = lowerUTF8({actor:String})');
      params.actor = filter.actor;
    }
    const rs = await this.ch.query({
      query: `SELECT at, actor_kind, actor_id, actor_name, action, outcome, object_kind, object_id, ip, user_agent, details
              FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC LIMIT {limit:UInt32}`,
      query_params: params,
      format: 'JSONEachRow',
    });
    return rs.json<AuditRow>();
  }
}
