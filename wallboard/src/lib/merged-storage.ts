// For console lists read again every few seconds (createResource's `storage`).
import type { Signal } from 'solid-js';
import { createStore, reconcile, unwrap } from 'solid-js/store';

/**
 * A resource's storage that merges each answer into the last one (reconcile: items by their `id`, else by position), so a
 * re-read changes only what changed: the rows of a list re-read every few seconds, their
 * selects, a dropdown someone has open and a button about to be clicked stay as they are.
 */
export function mergedStorage<T>(value: T | undefined): Signal<T | undefined> {
  const [store, setStore] = createStore<{ value: T | undefined }>({ value });
  const set = (next: unknown) => {
    const v = typeof next === 'function' ? (next as (prev: T | undefined) => T | undefined)(unwrap(store.value)) : (next as T | undefined);
    setStore('value', reconcile(v));
    return store.value;
  };
  return [() => store.value, set] as Signal<T | undefined>;
}
