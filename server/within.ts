// A deadline for a promise that has no way to be cancelled (a Redis command on a connection that hangs, a ClickHouse
// ping): the caller gets an answer in time, and the late result, when it comes, is dropped.

/**
 * `p`, or a rejection after `ms` ms (`p` goes on; its late result or failure is ignored). `.catch(() => {})` on it:
 * wait for `p` at most `ms`.
 */
export async function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  p.catch(() => {}); // a failure after the deadline is no one's to handle
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
