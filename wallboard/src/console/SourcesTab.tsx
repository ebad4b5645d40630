// Sources: how each feed (ACD, IVR, CRM) is doing — its latest event and whether it has gone quiet, what was stored
// and refused since midnight, and its latest refusals with their reasons and what was sent. Read again every 15 s.
import { For, onCleanup, Show, type Component } from 'solid-js';
import type { SourcesResponse, SourceStatus as SourceView } from '../../../server/ingest/sources.ts';
import { api, ApiFailure } from '../lib/api.ts';
import { formatAgo, formatNumber } from '../lib/format.ts';
import { TableHead } from './Console.tsx';
import { createRead } from './read.ts';

const REFRESH_MS = 15_000;

export const SourcesTab: Component = () => {
  const [data, { refetch, failure }] = createRead(async () => {
    try {
      return { ...(await api<SourcesResponse>('GET', '/v1/sources')), forbidden: false };
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 403) return { since: '', sources: [] as SourceView[], activityKnown: false, forbidden: true };
      throw err;
    }
  });
  const timer = setInterval(() => void refetch(), REFRESH_MS);
  onCleanup(() => clearInterval(timer));

  const status = (s: SourceView) => {
    if (!data()?.activityKnown) return <span class="muted">unknown</span>;
    if (s.lastStoredAt === null) return <span class="muted" data-status="silent">no events in the last day</span>;
    if (s.quiet) return <span class="warn" data-status="quiet">◆ quiet for {s.quietAfterMinutes} min or more</span>;
    return <span class="ok" data-status="receiving">● receiving</span>;
  };

  return (
    <section>
      <h2>Sources</h2>
      <p class="error" role="alert">{failure()}</p>
      <Show when={!data()?.forbidden} fallback={<p class="muted">Only supervisors and admins see how the sources are doing.</p>}>
        <p class="muted">
          The systems that send events. Counts are since midnight in the center's time zone; a refused event is kept whole, and its sender reads it with
          its key at <code>GET /v1/events/rejected</code>.
        </p>
        <table class="list-table">
          <TableHead columns={['Source', 'Status', 'Latest event', 'Stored today', 'Refused today']} />
          <tbody>
            <For each={data()?.sources ?? []}>
              {(s) => (
                <tr data-source={s.source}>
                  <td>{s.source.toUpperCase()}</td>
                  <td>{status(s)}</td>
                  <td>{s.lastStoredAt === null ? '—' : formatAgo(Date.parse(s.lastStoredAt), Date.now())}</td>
                  <td class="num">{formatNumber(s.storedToday)}</td>
                  <td class="num" classList={{ warn: s.rejectedToday > 0 }}>
                    {formatNumber(s.rejectedToday)}
                  </td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
        <For each={(data()?.sources ?? []).filter((s) => s.recentRejections.length > 0)}>
          {(s) => (
            <>
              <h3>Latest refusals — {s.source.toUpperCase()}</h3>
              <table class="list-table rejections" data-source={s.source}>
                <TableHead columns={['Received', 'Key', 'Event id', 'Why']} />
                <tbody>
                  <For each={s.recentRejections}>
                    {(r) => (
                      <tr>
                        <td class="nowrap">{new Date(r.receivedAt).toLocaleString()}</td>
                        <td>{r.keyName}</td>
                        <td>{r.id ?? <span class="muted">(none readable)</span>}</td>
                        <td>
                          <For each={r.reasons}>{(reason) => <div class="reason">{reason}</div>}</For>
                          <details>
                            <summary>what was sent</summary>
                            <pre class="raw">{r.raw}</pre>
                          </details>
                        </td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </>
          )}
        </For>
      </Show>
    </section>
  );
};
