// Times to and from ClickHouse's DateTime64(3, 'UTC') text, in one place: every store writes and reads them.

/** ClickHouse DateTime64(3) input text, in UTC, for a time in ms: 2026-11-23 09:15:02.250 */
export function chTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-11-23T09:15:02.250Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/** A time ClickHouse gave ('YYYY-MM-DD hh:mm:ss.sss' in UTC, or already ISO with a zone) in ms. */
export function chMs(text: string): number {
  return Date.parse(text.endsWith('Z') || text.includes('+') ? text : `${text.replace(' ', 'T')}Z`);
}

/** A time ClickHouse gave, as an ISO string. */
export function chIso(text: string): string {
  return new Date(chMs(text)).toISOString();
}

/** A version time strictly after `previous` (a time ClickHouse gave), so that a same-millisecond update still wins. */
export function nextVersion(previous?: string): number {
  const now = Date.now();
  return previous ? Math.max(now, chMs(previous) + 1) : now;
}
