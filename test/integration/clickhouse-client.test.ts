// The ClickHouse client's own log lines go to the process log (pino), at a level that says what they mean.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../server/clickhouse/client.ts';
import { freePort } from '../../server/redis/embedded.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.cleanup());

const parsed = (lines: string[]) => lines.map((l) => JSON.parse(l) as { level: number; msg: string; err?: { type?: string } });

describe('ClickHouse client logging', () => {
  it('a query ClickHouse refuses is thrown to the caller and logged at debug only', async () => {
    const { log, lines } = capturedLog('debug');
    const client = createClickHouse(ctx.target, { log });
    await expect(client.query({ query: 'SELECT * FROM no_such_table_here' })).rejects.toMatchObject({ type: 'UNKNOWN_TABLE' });
    await client.close();
    const own = parsed(lines).filter((l) => l.msg.startsWith('clickhouse client:'));
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((l) => l.level === 20)).toBe(true); // pino: 20 = debug
  });

  it('a server that cannot be reached is logged as an error', async () => {
    const { log, lines } = capturedLog('debug');
    const client = createClickHouse({ ...ctx.target, url: `http://127.0.0.1:${await freePort()}` }, { log, requestTimeoutMs: 2_000 });
    await expect(client.query({ query: 'SELECT 1' })).rejects.toThrow();
    await client.close();
    expect(parsed(lines).some((l) => l.msg.startsWith('clickhouse client:') && l.level === 50)).toBe(true); // 50 = error
  });
});
