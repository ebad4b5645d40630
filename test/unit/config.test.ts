import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config.ts';
import { DEMO_ANALYST_PASSWORD, demoConfig } from '../../server/demo.ts';

/** What loadConfig says is wrong with `env` (nothing: []). */
function problemsWith(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    return (err as ConfigError).problems;
  }
  return [];
}

describe('configuration', () => {
  it('applies the documented defaults to an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 8080,
      HOST: '127.0.0.1',
      DATA_DIR: './.data',
      CLICKHOUSE_DATABASE: 'nabiz',
      CLICKHOUSE_HTTP_PORT: 8123,
      CENTER_TZ: 'UTC',
      LOG_LEVEL: 'info',
      embeddedClickHouse: true,
      embeddedRedis: true,
    });
    expect(c.clickhouseDataDir.endsWith('/.data/clickhouse')).toBe(true);
  });

  it('coerces numbers and accepts real servers', () => {
    const c = loadConfig({ PORT: '9000', CLICKHOUSE_URL: 'http://ch.internal:8123', REDIS_URL: 'redis://r:6379', CENTER_TZ: 'Europe/Istanbul' });
    expect(c.PORT).toBe(9000);
    expect(c.embeddedClickHouse).toBe(false);
    expect(c.embeddedRedis).toBe(false);
    expect(c.CENTER_TZ).toBe('Europe/Istanbul');
  });

  it('spells CENTER_TZ as the zone database does, which ClickHouse wants (JavaScript takes any case)', () => {
    expect(loadConfig({ CENTER_TZ: 'europe/istanbul' }).CENTER_TZ).toBe('Europe/Istanbul');
    expect(loadConfig({ CENTER_TZ: 'utc' }).CENTER_TZ).toBe('UTC');
  });

  it('names a variable that looks like a setting but is none (a typo), with what it may have meant; others are not its business', () => {
    const config = loadConfig({ BACKUP_KEPP: '12', RETENTON_DAYS: '30', REDIS_VERSION: '7', BACKUP_KEEP: '3', NODE_ENV: 'production', EDITOR: 'vi', HOME: '/root' });
    expect(config.BACKUP_KEEP).toBe(3);
    expect(config.unknownSettings).toEqual([
      'BACKUP_KEPP is not a setting of Nabız, and is ignored (did you mean BACKUP_KEEP?)',
      'REDIS_VERSION is not a setting of Nabız, and is ignored',
      'RETENTON_DAYS is not a setting of Nabız, and is ignored (did you mean RETENTION_DAYS?)',
    ]);
    // NODE_ENV, EDITOR and HOME (two letters from HOST, but short names are often that close) are not its business
  });

  it('treats an empty string as unset', () => {
    expect(loadConfig({ PORT: '', CLICKHOUSE_URL: '' })).toMatchObject({ PORT: 8080, embeddedClickHouse: true });
  });

  it('names every bad variable and what it allows', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ PORT: 'abc', CENTER_TZ: 'Mars/Olympus', LOG_LEVEL: 'loud', CLICKHOUSE_DATABASE: 'drop table;' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toEqual([
      'PORT="abc" is invalid: expected an integer from 1 to 65535',
      expect.stringMatching(/^CLICKHOUSE_DATABASE="drop table;" is invalid: expected a value matching/),
      'LOG_LEVEL="loud" is invalid: expected one of fatal, error, warn, info, debug, trace, silent',
      'CENTER_TZ="Mars/Olympus" is invalid: expected an IANA time zone such as Europe/Istanbul',
    ]);
  });

  it('says why a too-short ADMIN_PASSWORD or METRICS_TOKEN is refused without repeating it', () => {
    const problems = problemsWith({ ADMIN_PASSWORD: 'short-pw-1', METRICS_TOKEN: 'tok-9f3a' });
    expect(problems).toEqual([
      'ADMIN_PASSWORD (secret, not shown) is invalid: expected a string of at least 12 characters',
      'METRICS_TOKEN (secret, not shown) is invalid: expected a string of at least 16 characters',
    ]);
    expect(problems.join('\n')).not.toMatch(/short-pw-1|tok-9f3a/);
  });

  it('never repeats the value of a variable the schema marks secret', () => {
    const problems = problemsWith({
      CLICKHOUSE_ANALYST_PASSWORD: 'hunter2',
      ALERT_WEBHOOK_URL: 'hooks.example/T0K3N-abc',
      PORT: '0',
    });
    expect(problems).toEqual([
      'PORT="0" is invalid: expected an integer from 1 to 65535',
      'CLICKHOUSE_ANALYST_PASSWORD (secret, not shown) is invalid: expected a string of at least 8 characters',
      expect.stringMatching(/^ALERT_WEBHOOK_URL \(secret, not shown\) is invalid: expected a value matching /),
    ]);
    expect(problems.join('\n')).not.toMatch(/hunter2|T0K3N/);
  });

  it('shows a bad server URL without the credentials in it', () => {
    const problems = problemsWith({
      REDIS_URL: 'http://nabiz:r3dis-pa55@redis:6379',
      CLICKHOUSE_URL: 'ch-user:ch-pa55@ch:8123/?password=qu3ry-pa55',
    });
    expect(problems).toEqual([
      'CLICKHOUSE_URL="***@ch:8123/?***" is invalid: expected a value matching /^https?://[^\\s]+$/',
      'REDIS_URL="http://***@redis:6379" is invalid: expected a value matching /^rediss?:\/\//',
    ]);
    expect(problems.join('\n')).not.toMatch(/pa55|ch-user|nabiz:/);
  });

  it('describes the length, range and pattern each variable allows', () => {
    expect(problemsWith({ KPI_SL_TARGET_PCT: '100', INGEST_RATE_LIMIT_PER_MINUTE: '0' })).toEqual([
      'INGEST_RATE_LIMIT_PER_MINUTE="0" is invalid: expected an integer of at least 1',
      'KPI_SL_TARGET_PCT="100" is invalid: expected a number greater than 0 and less than 100',
    ]);
  });

  it('refuses a REDIS_PREFIX with a colon: one installation\'s keys (`nabiz:*`) must not take in another\'s (`nabiz:eu:*`)', () => {
    expect(problemsWith({ REDIS_PREFIX: 'nabiz:eu' })).toEqual(['REDIS_PREFIX="nabiz:eu" is invalid: expected a value matching /^[A-Za-z0-9_.-]{1,64}$/']);
    expect(loadConfig({ REDIS_PREFIX: 'nabiz-eu.2' }).REDIS_PREFIX).toBe('nabiz-eu.2');
  });

  it('reads SOURCE_QUIET_MINUTES as minutes for every source, then a source\'s own', () => {
    const MIN = 60_000;
    expect(loadConfig({}).sourceQuietMs).toEqual({ acd: 15 * MIN, ivr: 15 * MIN, crm: 15 * MIN });
    expect(loadConfig({ SOURCE_QUIET_MINUTES: ' 10 , ivr:60, crm : 0 ' }).sourceQuietMs).toEqual({ acd: 10 * MIN, ivr: 60 * MIN, crm: 0 });
    expect(loadConfig({ SOURCE_QUIET_MINUTES: '0' }).sourceQuietMs).toEqual({ acd: 0, ivr: 0, crm: 0 });
    const problem = (value: string) => problemsWith({ SOURCE_QUIET_MINUTES: value });
    expect(problem('15,pbx:5')).toEqual(['SOURCE_QUIET_MINUTES="15,pbx:5" is invalid: entry 2 must be source:minutes with source one of acd, ivr, crm']);
    expect(problem('15,ivr:5,ivr:6')).toEqual(['SOURCE_QUIET_MINUTES="15,ivr:5,ivr:6" is invalid: entry 3 repeats ivr']);
    expect(problem('1441')).toEqual(['SOURCE_QUIET_MINUTES="1441" is invalid: the first entry must be a whole number of minutes from 0 to 1440']);
    expect(problem('ivr:60')).toEqual(['SOURCE_QUIET_MINUTES="ivr:60" is invalid: the first entry must be a whole number of minutes from 0 to 1440']);
    expect(problem('15,crm:1.5')).toEqual(['SOURCE_QUIET_MINUTES="15,crm:1.5" is invalid: entry 2 (crm) must be a whole number of minutes from 0 to 1440']);
  });

  it('reads CENTER_HOURS and CENTER_CLOSED_DATES (both unset: always open), and names what it cannot read', () => {
    expect(loadConfig({}).centerHours).toBeNull();
    expect(loadConfig({ CENTER_HOURS: 'sat 09:00-14:00' }).centerHours).toEqual({ periods: [{ day: 5, from: 540, to: 840 }], closedDates: new Set() });
    // holidays alone: open round the clock but on those days
    const holidays = loadConfig({ CENTER_CLOSED_DATES: '2026-12-25' }).centerHours!;
    expect([holidays.periods.length, [...holidays.closedDates]]).toEqual([7, ['2026-12-25']]);
    expect(problemsWith({ CENTER_CLOSED_DATES: '2026-13-01' })).toEqual(['CENTER_CLOSED_DATES="2026-13-01" is invalid: "2026-13-01" is not a date (YYYY-MM-DD)']);
    expect(problemsWith({ CENTER_HOURS: 'mon-fri 8:00-20:00' })).toEqual(['CENTER_HOURS="mon-fri 8:00-20:00" is invalid: "mon-fri 8:00-20:00": 8:00 is not a time (00:00 to 24:00)']);
  });

  it('reads TRUST_PROXY as a number of proxies, or the proxies\' addresses and ranges; never "everyone"', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: ' 127.0.0.1, 10.0.0.0/8 ,::1, fd00::/8' }).trustProxy).toEqual(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8']);
    const problem = (value: string) => problemsWith({ TRUST_PROXY: value });
    expect(problem('0')).toEqual(['TRUST_PROXY="0" is invalid: a number of proxies must be from 1 to 10']);
    expect(problem('11')).toEqual(['TRUST_PROXY="11" is invalid: a number of proxies must be from 1 to 10']);
    expect(problem('true')).toEqual(['TRUST_PROXY="true" is invalid: entry 1 ("true") must be an IP address or a CIDR range such as 10.0.0.0/8']);
    expect(problem('10.0.0.1,10.0.0.0/33')).toEqual(['TRUST_PROXY="10.0.0.1,10.0.0.0/33" is invalid: entry 2 ("10.0.0.0/33") must be an IP address or a CIDR range such as 10.0.0.0/8']);
    expect(problem('proxy.local')).toEqual(['TRUST_PROXY="proxy.local" is invalid: entry 1 ("proxy.local") must be an IP address or a CIDR range such as 10.0.0.0/8']);
    expect(problem('fd00::/129')).toEqual(['TRUST_PROXY="fd00::/129" is invalid: entry 1 ("fd00::/129") must be an IP address or a CIDR range such as 10.0.0.0/8']);
  });

  it('reads AGENT_STATE_MAX_HOURS as whole hours from 0 (never) to 168, 12 by default', () => {
    expect(loadConfig({}).AGENT_STATE_MAX_HOURS).toBe(12);
    expect(loadConfig({ AGENT_STATE_MAX_HOURS: '0' }).AGENT_STATE_MAX_HOURS).toBe(0);
    expect(loadConfig({ AGENT_STATE_MAX_HOURS: '168' }).AGENT_STATE_MAX_HOURS).toBe(168);
    for (const bad of ['169', '-1', '1.5', 'never']) {
      expect(problemsWith({ AGENT_STATE_MAX_HOURS: bad })).toEqual([`AGENT_STATE_MAX_HOURS="${bad}" is invalid: expected an integer from 0 to 168`]);
    }
  });

  it('runs the nightly backup at 02:00 with the embedded ClickHouse, at BACKUP_AT, or never (off, or a ClickHouse server)', () => {
    expect(loadConfig({})).toMatchObject({ backupAt: { hour: 2, minute: 0 }, BACKUP_KEEP: 4 });
    expect(loadConfig({ BACKUP_AT: '23:45', BACKUP_KEEP: '1' })).toMatchObject({ backupAt: { hour: 23, minute: 45 }, BACKUP_KEEP: 1 });
    expect(loadConfig({ BACKUP_AT: 'off' }).backupAt).toBeNull();
    expect(loadConfig({ CLICKHOUSE_URL: 'http://ch:8123' }).backupAt).toBeNull();
    expect(loadConfig({ CLICKHOUSE_URL: 'http://ch:8123', BACKUP_AT: 'off' }).backupAt).toBeNull();
    for (const bad of ['24:00', '2:00', '02:60', 'nightly']) {
      expect(problemsWith({ BACKUP_AT: bad })).toEqual([`BACKUP_AT="${bad}" is invalid: expected a time HH:MM from 00:00 to 23:59 (on the center's clock), or off`]);
    }
    for (const bad of ['0', '101', '2.5']) {
      expect(problemsWith({ BACKUP_KEEP: bad })).toEqual([`BACKUP_KEEP="${bad}" is invalid: expected an integer from 1 to 100`]);
    }
  });

  it('refuses a BACKUP_AT time with CLICKHOUSE_URL, pointing to the server\'s own BACKUP, without showing the URL\'s credentials', () => {
    const problems = problemsWith({ CLICKHOUSE_URL: 'http://nabiz:s3cret@ch:8123', BACKUP_AT: '02:00' });
    expect(problems).toEqual([expect.stringMatching(/^BACKUP_AT="02:00" is invalid with CLICKHOUSE_URL: .*its own BACKUP.*docs\/operations\.md/)]);
    expect(problems.join()).not.toContain('s3cret');
  });

  it('rejects out-of-range ports', () => {
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/PORT="70000" is invalid: expected an integer from 1 to 65535/);
    expect(() => loadConfig({ PORT: '80.5' })).toThrow(/PORT="80.5"/);
  });

  it.each([
    ['PORT', 'abc', /PORT="abc" is invalid: expected an integer/],
    ['CENTER_TZ', 'Mars/Olympus', /CENTER_TZ="Mars\/Olympus" is invalid: expected an IANA time zone/],
  ])('a bad %s stops boot with a message naming it', (name, value, message) => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      env: { PATH: process.env.PATH, [name]: value },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});

describe('the demo configuration', () => {
  it("enables the embedded ClickHouse's analyst with the published demo password, unless one is set or ClickHouse is a server", () => {
    expect(demoConfig(loadConfig({})).CLICKHOUSE_ANALYST_PASSWORD).toBe(DEMO_ANALYST_PASSWORD);
    expect(demoConfig(loadConfig({ CLICKHOUSE_ANALYST_PASSWORD: 'own-analyst-pw' })).CLICKHOUSE_ANALYST_PASSWORD).toBe('own-analyst-pw');
    expect(demoConfig(loadConfig({ CLICKHOUSE_URL: 'http://ch:8123' })).CLICKHOUSE_ANALYST_PASSWORD).toBeUndefined();
    expect(demoConfig(loadConfig({})).CLICKHOUSE_DATABASE).toBe('nabiz_demo');
  });
});
