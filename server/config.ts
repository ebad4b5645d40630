// The configuration schema: the only place that reads process.env.
// Every variable is declared once here, with its default, description and secrecy (`secret`, below); the README's
// configuration table is generated from this schema (`npm run config:table`), so the two cannot drift.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { isIP } from 'node:net';
import path from 'node:path';
import { parseCenterHours, parseClosedDates, type CenterHours } from './center-hours.ts';
import { QUIET_LOOKBACK_MS } from './ingest/activity.ts';
import { SOURCES, type Source } from './ingest/source-names.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * How much of a variable's value a configuration error may show, set as the
 * `secret` option of its schema entry, the one place that says which variables are secret:
 * - `true`: none of it;
 * - `'credentials'`: a URL that may carry credentials; shown with its `user:password@` and its query masked.
 * The README's configuration table marks these variables from the same option (scripts/config-table.ts).
 */
export type Secrecy = true | 'credentials';

const Port = (def: number, description: string) =>
  Type.Integer({ minimum: 1, maximum: 65535, default: def, description });

export const ConfigSchema = Type.Object({
  PORT: Port(8080, 'HTTP port of the API, the live stream and the wallboard.'),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Address the API binds to (`0.0.0.0` to expose it).' }),
  TRUST_PROXY: Type.Optional(
    Type.String({
      description:
        'Behind a reverse proxy: the proxies whose `X-Forwarded-For`, `-Host` and `-Proto` are believed, as addresses or CIDR ranges, comma-separated ' +
        '(e.g. `127.0.0.1,10.0.0.0/8`), or how many proxies are in front (`1`: only when Nabız is reachable through the proxies alone, since the ' +
        'nearest hops are then trusted whoever they are). Unset: the client is the connection\'s peer (then, behind a proxy, ' +
        'every login counts against the proxy\'s address and cookie requests look cross-origin when the proxy rewrites Host).',
    }),
  ),
  DATA_DIR: Type.String({
    minLength: 1,
    default: './.data',
    description: 'Where the embedded ClickHouse and Redis keep their data, and the passwords generated for them (`clickhouse/password`, `redis/password`, mode 0600).',
  }),
  BACKUP_DIR: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'Embedded mode: where the nightly backup (`BACKUP_AT`) and `npm run nabiz -- backup` write backups, and restores read them ' +
        '(default `<DATA_DIR>/backups`; another disk is better).',
    }),
  ),
  BACKUP_AT: Type.String({
    default: '02:00',
    description:
      'Embedded mode: when the nightly backup runs, `HH:MM` on the center\'s clock (`CENTER_TZ`), or `off`. The first of each ISO week is full, ' +
      'the others incremental; old ones are pruned (`BACKUP_KEEP`, `docs/operations.md`). With `CLICKHOUSE_URL` it is off, and setting a time is ' +
      'refused: a ClickHouse server backs up with its own `BACKUP`.',
  }),
  BACKUP_KEEP: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: 4,
    description: 'How many full backups the nightly backup keeps, each with the incremental ones that add to it; older ones are deleted after each backup.',
  }),
  CLICKHOUSE_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s]+$',
      secret: 'credentials',
      description: 'A real ClickHouse server (e.g. `http://ch:8123`; not a replicated cluster). Unset: run the embedded one.',
    }),
  ),
  CLICKHOUSE_DATABASE: Type.String({
    pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$',
    default: 'nabiz',
    description: 'Database holding all Nabız tables.',
  }),
  CLICKHOUSE_USER: Type.String({ default: 'default', description: 'ClickHouse user the app connects as (with `CLICKHOUSE_URL`; on the embedded server, `default`).' }),
  CLICKHOUSE_PASSWORD: Type.String({
    default: '',
    secret: true,
    description:
      'Password of `CLICKHOUSE_USER`. Embedded mode: the password of the embedded server\'s `default` user; unset there, one is generated on the ' +
      'first start and kept in `<DATA_DIR>/clickhouse/password` (mode 0600).',
  }),
  CLICKHOUSE_HTTP_PORT: Port(8123, 'Loopback port of the embedded ClickHouse HTTP interface (embedded mode only).'),
  CLICKHOUSE_ANALYST_PASSWORD: Type.Optional(
    Type.String({
      minLength: 8,
      secret: true,
      description: 'Embedded mode: enables the read-only `analyst` ClickHouse user with this password. Unset: no analyst user.',
    }),
  ),
  REDIS_URL: Type.Optional(
    Type.String({
      pattern: '^rediss?://',
      secret: 'credentials',
      description: 'A real Redis server (e.g. `redis://redis:6379`). Unset: start `redis-server` ourselves.',
    }),
  ),
  REDIS_PREFIX: Type.String({
    pattern: '^[A-Za-z0-9_.-]{1,64}$',
    default: 'nabiz',
    description:
      'Prefix of every Redis key and BullMQ queue, so several installations can share one Redis. No `:`, which ends ' +
      'it: with `nabiz` and `nabiz:eu` on one Redis, the first one\'s keys (`nabiz:*`) would take in the second\'s.',
  }),
  CENTER_TZ: Type.String({ default: 'UTC', description: 'IANA time zone of the center; "today" starts at local midnight here. The KPI worker stores it for the analysts\' local days (the view `kpi_center`).' }),
  CENTER_HOURS: Type.Optional(
    Type.String({
      description:
        'Opening hours on the center\'s clock, e.g. `mon-fri 08:00-20:00, sat 09:00-14:00` (`daily …`; `22:00-06:00` runs past midnight). ' +
        'While closed no alert is raised (open ones clear) and no source counts as quiet; for 30 minutes after opening, Erlang C counts arrivals from the opening. Unset: always open.',
    }),
  ),
  CENTER_CLOSED_DATES: Type.Optional(
    Type.String({ description: 'Days the center is closed all day (holidays), on its clock: `2026-12-25, 2027-01-01`; with or without `CENTER_HOURS`.' }),
  ),
  LOG_LEVEL: Type.Union(
    LOG_LEVELS.map((l) => Type.Literal(l)),
    { default: 'info', description: `Log level: ${LOG_LEVELS.join(', ')}. At info, one line per request; accepted event posts and health probes only at debug (the metrics count them).` },
  ),
  INGEST_KEYS: Type.Optional(
    Type.String({
      secret: true,
      description:
        'Bootstrap ingest keys as `source:key` pairs, comma-separated (e.g. `acd:k1,ivr:k2`); source is acd, ivr or crm. ' +
        'Prefer keys created with `npm run nabiz -- keys create`.',
    }),
  ),
  ADMIN_PASSWORD: Type.Optional(
    Type.String({
      minLength: 12,
      secret: true,
      description: 'Password of the first admin (username `admin`), created at start-up if no `admin` user ever existed (removing it later does not bring it back).',
    }),
  ),
  METRICS_TOKEN: Type.Optional(
    Type.String({
      minLength: 16,
      secret: true,
      description: 'Bearer token a Prometheus scraper sends to `GET /metrics`. Unset: there is no metrics endpoint.',
    }),
  ),
  SESSION_TTL_SECONDS: Type.Integer({
    minimum: 60,
    maximum: 30 * 86_400,
    default: 8 * 3600,
    description: 'Sliding expiry of a signed-in person\'s session: it ends after this long without a request.',
  }),
  LOGIN_MAX_FAILURES_PER_USER: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 10,
    description: 'Failed logins allowed per username within `LOGIN_WINDOW_SECONDS` before login answers 429.',
  }),
  LOGIN_MAX_ATTEMPTS_PER_IP: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    default: 50,
    description: 'Failed logins allowed per client address within `LOGIN_WINDOW_SECONDS` before login answers 429.',
  }),
  LOGIN_WINDOW_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 86_400,
    default: 900,
    description: 'Window of the login rate limits.',
  }),
  RETENTION_DAYS: Type.Integer({
    minimum: 1,
    maximum: 3650,
    default: 400,
    description: 'How long events are kept; older events are refused at ingest and dropped from storage.',
  }),
  INGEST_MAX_BYTES: Type.Integer({ minimum: 1024, maximum: 100 * 1024 * 1024, default: 5 * 1024 * 1024, description: 'Largest ingest request body, in bytes (larger: 413).' }),
  INGEST_MAX_EVENTS: Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000, description: 'Most events in one ingest request (more: 413).' }),
  INGEST_RATE_LIMIT_PER_MINUTE: Type.Integer({
    minimum: 1,
    default: 120_000,
    description: 'Ingest requests one key may make per minute (more: 429 with Retry-After).',
  }),
  INGEST_BATCH_EVENTS: Type.Integer({
    minimum: 1,
    maximum: 200_000,
    default: 20_000,
    description: 'Most events in one ClickHouse insert. One event insert runs at a time (across all API processes); requests arriving meanwhile are coalesced into the next.',
  }),
  KPI_SL_THRESHOLD_S: Type.Integer({
    minimum: 1,
    maximum: 3600,
    default: 20,
    description: 'Default service-level threshold T in seconds (answered within T); a queue may override it.',
  }),
  KPI_SL_TARGET_PCT: Type.Number({
    exclusiveMinimum: 0,
    exclusiveMaximum: 100,
    default: 80,
    description: 'Default service-level target in percent, used by Erlang C for required agents; a queue may override it.',
  }),
  KPI_SHORT_ABANDON_S: Type.Integer({
    minimum: 0,
    maximum: 600,
    default: 5,
    description: 'Default short-abandon threshold in seconds: abandons with a shorter wait are left out of abandoned, SL and abandon rate.',
  }),
  FCR_LOOKBACK_DAYS: Type.Integer({
    minimum: 0,
    maximum: 90,
    default: 7,
    description:
      'FCR: an interaction is not a first contact if the same customer had another one this many days before it. A change rebuilds the ' +
      'stored measures at the KPI worker\'s next start.',
  }),
  WAITING_LOOKBACK_HOURS: Type.Integer({
    minimum: 1,
    maximum: 720,
    default: 24,
    description:
      'Live waiting contacts: offers older than this are not looked at (bounds the live query). The KPI worker stores it for the analyst view ' +
      '`kpi_waiting_now` (`kpi_agent_settings`).',
  }),
  AGENT_STATE_MAX_HOURS: Type.Integer({
    minimum: 0,
    maximum: 168,
    default: 12,
    description:
      'An agent whose latest `agent.state` is at least this many hours old counts as offline (an ACD that never sent the logout: a crashed ' +
      'softphone, an ACD restart): not in the agent counts, occupancy, staffing gap or roster. 0: never. The KPI worker stores it for the API ' +
      'and the analyst views (`kpi_agent_settings`).',
  }),
  KPI_RECOMPUTE_DEBOUNCE_MS: Type.Integer({
    minimum: 10,
    maximum: 10_000,
    default: 50,
    description: 'A burst of events within this many milliseconds yields one KPI recomputation.',
  }),
  STREAM_HEARTBEAT_MS: Type.Integer({
    minimum: 1000,
    maximum: 60_000,
    default: 10_000,
    description: 'Live stream: the server pings every socket this often and drops one that did not answer the previous ping (a dead socket is gone within twice this).',
  }),
  SOURCE_QUIET_MINUTES: Type.String({
    default: '15',
    description:
      'Wallboards say "no ACD events since 14:05" when a source that sent events in the last 24 hours has sent none for this many minutes ' +
      '(0: never, at most 1440); then, comma-separated, other minutes for one source, e.g. `15,ivr:60,crm:0` for an IVR quiet at night and no CRM warning.',
  }),
  STREAM_MAX_SOCKETS_PER_CREDENTIAL: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    default: 20,
    description:
      'Live stream: most sockets one credential (a person, a display) may hold in one API process; another is closed with 1008. A leaked TV link must not open thousands.',
  }),
  STREAM_MAX_BUFFER_BYTES: Type.Integer({
    minimum: 16_384,
    maximum: 256 * 1024 * 1024,
    default: 4 * 1024 * 1024,
    description: 'Live stream: a socket with more than this many bytes waiting to be sent is a slow consumer and is dropped.',
  }),
  ALERT_WEBHOOK_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s]+$',
      secret: true,
      description:
        'Alert transitions, and sources going quiet (SOURCE_QUIET_MINUTES) or sending again, are also POSTed here as JSON, retried with ' +
        'backoff (the URL may hold a token). Unset: no webhook.',
    }),
  ),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 600_000,
    default: 10_000,
    description: 'Deadline for a graceful shutdown before the process exits anyway.',
  }),
});

export type RawConfig = Static<typeof ConfigSchema>;

/** The typed configuration every other module receives; derived paths resolved once. */
export interface Config extends RawConfig {
  dataDir: string;
  clickhouseDataDir: string;
  redisDataDir: string;
  /** BACKUP_DIR, absolute. */
  backupDir: string;
  /** BACKUP_AT, parsed: when the nightly backup runs on the center's clock; null: no nightly backup (off, or CLICKHOUSE_URL). */
  backupAt: { hour: number; minute: number } | null;
  embeddedClickHouse: boolean;
  embeddedRedis: boolean;
  /** CENTER_HOURS and CENTER_CLOSED_DATES, parsed (server/center-hours.ts); null: always open. */
  centerHours: CenterHours | null;
  /** SOURCE_QUIET_MINUTES, parsed: after how long without events each source counts as quiet (ms; 0: never). */
  sourceQuietMs: Record<IngestSource, number>;
  /** TRUST_PROXY, parsed, as Fastify's `trustProxy` takes it: false, a number of hops, or addresses and ranges. */
  trustProxy: false | number | string[];
  /**
   * Variables that look like settings but are none (`BACKUP_KEPP`: a typo, which would leave its setting at its
   * default), each with what it may have meant: warned about at start, not refused (other software's variables may
   * share a prefix).
   */
  unknownSettings: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const INGEST_SOURCES = SOURCES;
export type IngestSource = Source;

/**
 * Parses INGEST_KEYS (`acd:k1,ivr:k2`). Throws with a message that never repeats a key (they are secrets).
 */
export function parseIngestKeys(value: string): Array<{ source: IngestSource; key: string }> {
  const out: Array<{ source: IngestSource; key: string }> = [];
  const seen = new Set<string>();
  for (const [i, raw] of value.split(',').entries()) {
    const entry = raw.trim();
    if (entry === '') continue;
    const colon = entry.indexOf(':');
    const source = colon < 0 ? '' : entry.slice(0, colon);
    const key = colon < 0 ? '' : entry.slice(colon + 1);
    if (!(INGEST_SOURCES as readonly string[]).includes(source)) {
      throw new Error(`entry ${i + 1} must be source:key with source one of ${INGEST_SOURCES.join(', ')} (e.g. acd:<key>)`);
    }
    if (key === '' || /\s/.test(key)) throw new Error(`entry ${i + 1} (${source}) has an empty key or a key with whitespace`);
    if (seen.has(key)) throw new Error(`entry ${i + 1} (${source}) repeats a key already given: each key belongs to one source`);
    seen.add(key);
    out.push({ source: source as IngestSource, key });
  }
  return out;
}

/** The most minutes SOURCE_QUIET_MINUTES may give: a day, the look-back of the sources' activity. */
const MAX_QUIET_MINUTES = QUIET_LOOKBACK_MS / 60_000;

/**
 * Parses SOURCE_QUIET_MINUTES (`15`, or `15,ivr:60,crm:0`: the minutes for every source, then a source's own) into
 * milliseconds per source. Throws naming the entry at fault.
 */
export function parseQuietMinutes(value: string): Record<IngestSource, number> {
  const [first, ...rest] = value.split(',').map((e) => e.trim());
  const minutes = (text: string, what: string): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n > MAX_QUIET_MINUTES) throw new Error(`${what} must be a whole number of minutes from 0 to ${MAX_QUIET_MINUTES}`);
    return n * 60_000;
  };
  const all = minutes(first ?? '', 'the first entry');
  const out = Object.fromEntries(INGEST_SOURCES.map((s) => [s, all])) as Record<IngestSource, number>;
  const seen = new Set<string>();
  for (const [i, entry] of rest.entries()) {
    const [source = '', text = ''] = entry.split(':').map((p) => p.trim());
    if (!(INGEST_SOURCES as readonly string[]).includes(source)) throw new Error(`entry ${i + 2} must be source:minutes with source one of ${INGEST_SOURCES.join(', ')}`);
    if (seen.has(source)) throw new Error(`entry ${i + 2} repeats ${source}`);
    seen.add(source);
    out[source as IngestSource] = minutes(text, `entry ${i + 2} (${source})`);
  }
  return out;
}

/** What a variable's schema allows, in words: its choices, range, length and pattern. */
function describeAllowed(schema: TSchema): string {
  if (schema.anyOf) return `one of ${schema.anyOf.map((s: TSchema) => s.const).join(', ')}`;
  if (schema.type === 'integer' || schema.type === 'number') {
    const kind = schema.type === 'integer' ? 'an integer' : 'a number';
    const { minimum: min, maximum: max, exclusiveMinimum: above, exclusiveMaximum: below } = schema;
    if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`;
    const bounds = [
      min !== undefined ? `of at least ${min}` : above !== undefined ? `greater than ${above}` : undefined,
      max !== undefined ? `of at most ${max}` : below !== undefined ? `less than ${below}` : undefined,
    ].filter((b) => b !== undefined);
    return bounds.length > 0 ? `${kind} ${bounds.join(' and ')}` : kind;
  }
  if (schema.type === 'string') {
    const { minLength: min, maxLength: max, pattern } = schema;
    const chars = (n: number) => `${n} character${n === 1 ? '' : 's'}`;
    const length =
      min !== undefined && max !== undefined
        ? min === max ? `of exactly ${chars(min)}` : `of ${min} to ${chars(max)}`
        : min !== undefined && min > 1 ? `of at least ${chars(min)}`
        : max !== undefined ? `of at most ${chars(max)}`
        : undefined;
    const nonEmpty = min === 1 && max === undefined;
    const matching = pattern === undefined ? undefined : `matching /${pattern}/`;
    if (length === undefined && matching !== undefined) return `a ${nonEmpty ? 'non-empty ' : ''}value ${matching}`;
    return [`a ${nonEmpty ? 'non-empty ' : ''}string`, length, matching].filter((p) => p !== undefined).join(' ');
  }
  return `a ${schema.type}`;
}

/** A URL with its `user:password@` and its query (where credentials go) masked; a URL-ish typo is masked alike. */
function maskCredentials(value: string): string {
  return value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?[^]*@/, (_, scheme?: string) => `${scheme ?? ''}***@`).replace(/\?[^]*$/, '?***');
}

/**
 * How a problem names a variable: `NAME="value"`, or, for a secret, `NAME (secret, not shown)`, or its value with the
 * credentials masked (see Secrecy).
 */
function named(key: string, value: unknown): string {
  const secret = (ConfigSchema.properties as Record<string, TSchema>)[key]?.secret as Secrecy | undefined;
  if (secret === true) return `${key} (secret, not shown)`;
  const text = String(value ?? '');
  return `${key}=${JSON.stringify(secret === 'credentials' ? maskCredentials(text) : text)}`;
}

/** Parses BACKUP_AT: `HH:MM` (24-hour clock), or `off` (null). Throws saying what it allows. */
function parseBackupAt(value: string): { hour: number; minute: number } | null {
  if (value.trim() === 'off') return null;
  const m = /^(\d{2}):(\d{2})$/.exec(value.trim());
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) throw new Error('expected a time HH:MM from 00:00 to 23:59 (on the center\'s clock), or off');
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

/** The most proxies TRUST_PROXY may count in front of Nabız. */
const MAX_PROXY_HOPS = 10;

/**
 * Parses TRUST_PROXY: a number of hops (1–10), or addresses and CIDR ranges, comma-separated. "Every address" is not
 * offered: anyone could then claim any address. Throws naming the entry at fault.
 */
export function parseTrustProxy(value: string): number | string[] {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops < 1 || hops > MAX_PROXY_HOPS) throw new Error(`a number of proxies must be from 1 to ${MAX_PROXY_HOPS}`);
    return hops;
  }
  return text.split(',').map((raw, i) => {
    const entry = raw.trim();
    const [address = '', bits, extra] = entry.split('/');
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    if (family === 0 || extra !== undefined || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= maxBits))) {
      throw new Error(`entry ${i + 1} (${JSON.stringify(entry)}) must be an IP address or a CIDR range such as 10.0.0.0/8`);
    }
    return entry;
  });
}

/**
 * Parses and validates the environment. Empty strings count as unset. Throws ConfigError naming every bad
 * variable and what it allows; nothing else in the codebase reads process.env.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const props = ConfigSchema.properties as Record<string, TSchema>;
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(props)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const problems: string[] = [];
  const reported = new Set<string>();
  // Value.Convert would truncate "80.5" to 80: integers must be written as integers.
  for (const [key, value] of Object.entries(raw)) {
    const schema = props[key]!;
    if (schema.type === 'integer' && !/^-?\d+$/.test(String(value).trim())) {
      problems.push(`${named(key, value)} is invalid: expected ${describeAllowed(schema)}`);
      reported.add(key);
      delete raw[key];
    }
  }
  const converted = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, raw)) as Record<string, unknown>;
  for (const err of Value.Errors(ConfigSchema, converted)) {
    const key = err.path.replace(/^\//, '');
    const schema = props[key];
    if (!schema || reported.has(key)) continue;
    problems.push(`${named(key, env[key])} is invalid: expected ${describeAllowed(schema)}`);
    reported.add(key);
  }
  const tz = converted.CENTER_TZ;
  if (typeof tz === 'string' && !isTimeZone(tz)) {
    problems.push(`${named('CENTER_TZ', tz)} is invalid: expected an IANA time zone such as Europe/Istanbul`);
  }
  const ingestKeys = converted.INGEST_KEYS;
  if (typeof ingestKeys === 'string') {
    try {
      parseIngestKeys(ingestKeys);
    } catch (err) {
      // parseIngestKeys never repeats a key, and the value is never shown (INGEST_KEYS is secret)
      problems.push(`INGEST_KEYS is invalid: ${(err as Error).message}`);
    }
  }
  let sourceQuietMs: Record<IngestSource, number> | undefined;
  try {
    sourceQuietMs = parseQuietMinutes(String(converted.SOURCE_QUIET_MINUTES));
  } catch (err) {
    problems.push(`${named('SOURCE_QUIET_MINUTES', env.SOURCE_QUIET_MINUTES)} is invalid: ${(err as Error).message}`);
  }
  let centerHours: CenterHours | null = null;
  const hoursText = converted.CENTER_HOURS;
  const closedText = converted.CENTER_CLOSED_DATES;
  if (typeof hoursText === 'string' || typeof closedText === 'string') {
    const hours: CenterHours = { periods: parseCenterHours('daily 00:00-24:00'), closedDates: new Set() };
    try {
      if (typeof hoursText === 'string') hours.periods = parseCenterHours(hoursText);
    } catch (err) {
      problems.push(`${named('CENTER_HOURS', hoursText)} is invalid: ${(err as Error).message}`);
    }
    try {
      if (typeof closedText === 'string') hours.closedDates = parseClosedDates(closedText);
    } catch (err) {
      problems.push(`${named('CENTER_CLOSED_DATES', closedText)} is invalid: ${(err as Error).message}`);
    }
    centerHours = hours;
  }
  let trustProxy: Config['trustProxy'] = false;
  if (typeof converted.TRUST_PROXY === 'string') {
    try {
      trustProxy = parseTrustProxy(converted.TRUST_PROXY);
    } catch (err) {
      problems.push(`${named('TRUST_PROXY', converted.TRUST_PROXY)} is invalid: ${(err as Error).message}`);
    }
  }
  let backupAt: Config['backupAt'] = null;
  try {
    backupAt = parseBackupAt(String(converted.BACKUP_AT));
  } catch (err) {
    problems.push(`${named('BACKUP_AT', converted.BACKUP_AT)} is invalid: ${(err as Error).message}`);
  }
  if (converted.CLICKHOUSE_URL !== undefined) {
    // The nightly backup writes with BACKUP … TO File() where the embedded ClickHouse may write (BACKUP_DIR, on this
    // machine), and lists and prunes that directory. A server writes to its own disks, which this process cannot see.
    if (backupAt !== null && env.BACKUP_AT) { // set, not the default
      problems.push(
        `${named('BACKUP_AT', converted.BACKUP_AT)} is invalid with CLICKHOUSE_URL: the nightly backup is for the embedded ClickHouse; a ClickHouse ` +
          'server backs up with its own BACKUP to the destinations its configuration allows (docs/operations.md, "With a ClickHouse server"). ' +
          'Unset BACKUP_AT, or set it to off',
      );
    }
    backupAt = null;
  }
  if (problems.length > 0 || !sourceQuietMs) throw new ConfigError(problems);

  const cfg = converted as RawConfig;
  const dataDir = path.resolve(cfg.DATA_DIR);
  const prefixes = new Set(Object.keys(props).map((k) => `${k.split('_')[0]}_`));
  // a setting's prefix (BACKUP_…), or a long name a letter or two from a setting's (RETENTON_DAYS; not HOME for HOST)
  const nearOf = (k: string) => (k.length < 8 ? [] : Object.keys(props).filter((p) => editDistance(k, p) <= 2));
  const unknownSettings: string[] = [];
  for (const k of Object.keys(env).filter((name) => !(name in props)).sort()) {
    const near = nearOf(k);
    if (near.length === 0 && !prefixes.has(`${k.split('_')[0]}_`)) continue;
    unknownSettings.push(`${k} is not a setting of Nabız, and is ignored${near.length ? ` (did you mean ${near.join(' or ')}?)` : ''}`);
  }
  return {
    ...cfg,
    // as the zone database spells it: ClickHouse refuses `europe/istanbul`, which JavaScript takes
    CENTER_TZ: new Intl.DateTimeFormat('en-US', { timeZone: cfg.CENTER_TZ }).resolvedOptions().timeZone,
    dataDir,
    clickhouseDataDir: path.join(dataDir, 'clickhouse'),
    redisDataDir: path.join(dataDir, 'redis'),
    backupDir: path.resolve(cfg.BACKUP_DIR ?? path.join(dataDir, 'backups')),
    backupAt,
    embeddedClickHouse: cfg.CLICKHOUSE_URL === undefined,
    embeddedRedis: cfg.REDIS_URL === undefined,
    sourceQuietMs,
    centerHours,
    trustProxy,
    unknownSettings,
  };
}

/** Levenshtein distance: how many letters to add, drop or change to make `a` into `b`. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    row = next;
  }
  return row[b.length]!;
}
