// The console's reads (its lists, the report): createResource, with two differences.
// - A failed read keeps what was shown and says why (`failure`). Solid throws a failed resource's error wherever it is
//   read: the console's error page replaced the tab, and what was being typed in it, for one poll that failed (a
//   restart, a network blip).
// - A 401 means the session ended (expired, or ended by an admin): the console shows its sign-in form (onSignedOut).
import { createResource, createSignal, type ResourceSource } from 'solid-js';
import { ApiFailure } from '../lib/api.ts';
import { mergedStorage } from '../lib/merged-storage.ts';

let signedOut: () => void = () => {};

/** What the console does when a read finds the session ended (it reads who is signed in again). */
export function onSignedOut(handler: () => void): void {
  signedOut = handler;
}

export function createRead<T, S = true>(fetcher: (source: S) => Promise<T>, opts: { source?: ResourceSource<S>; merged?: boolean } = {}) {
  const [failure, setFailure] = createSignal('');
  let readAt: Date | null = null;
  const [value, actions] = createResource<T | undefined, S>(
    (opts.source ?? true) as ResourceSource<S>,
    async (source, info) => {
      try {
        const v = await fetcher(source);
        setFailure('');
        readAt = new Date();
        return v;
      } catch (err) {
        if (err instanceof ApiFailure && err.status === 401) signedOut();
        // read again (a poll, Reload): what is shown stays; for another source (a filter) it is not the answer
        const keep = info.refetching !== false && info.value !== undefined && readAt !== null;
        setFailure(`Could not read it: ${(err as Error).message}${keep ? ` (showing what was read at ${readAt!.toLocaleTimeString()})` : ''}`);
        return keep ? info.value : undefined;
      }
    },
    opts.merged ? { storage: mergedStorage } : {},
  );
  return [value, { ...actions, failure }] as const;
}
