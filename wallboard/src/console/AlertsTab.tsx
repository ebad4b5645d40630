// Alerts: the open ones (acknowledge) and those of the last 24 hours.
import { createSignal, For, onCleanup, Show, type Component } from 'solid-js';
import type { Alert } from '../../../server/live/protocol.ts';
import { api } from '../lib/api.ts';
import { formatSince, formatValue, scopeLabel, windowLabel } from '../lib/format.ts';
import { type ConsoleContext, fieldErrors, TableHead } from './Console.tsx';
import { createRead } from './read.ts';

export const AlertsTab: Component<{ ctx: ConsoleContext }> = (props) => {
  const [active, { refetch: refetchActive, failure: activeFailure }] = createRead(async () => (await api<{ alerts: Alert[] }>('GET', '/v1/alerts?active=1')).alerts, { merged: true });
  const [recent, { refetch: refetchRecent, failure: recentFailure }] = createRead(async () => (await api<{ alerts: Alert[] }>('GET', '/v1/alerts?limit=100')).alerts, { merged: true });
  const [error, setError] = createSignal('');
  const t = setInterval(() => {
    void refetchActive();
    void refetchRecent();
  }, 5000);
  onCleanup(() => clearInterval(t));
  const def = (k: string) => props.ctx.catalog.find((d) => d.key === k);
  /** In the center's time zone, as on the TVs; with the date when not today (an alert can stay open for days). */
  const when = (iso: string) => formatSince(Date.parse(iso), Date.now(), props.ctx.timeZone);
  const value = (a: Alert, v: number | null) => {
    const f = formatValue(v, def(a.kpi) ?? { unit: 'count', decimals: 0 });
    return `${f.text}${f.unit}`;
  };
  /** The alert being acknowledged: its button waits. */
  const [acking, setAcking] = createSignal('');
  const ack = async (a: Alert) => {
    setError('');
    setAcking(a.id);
    try {
      await api('POST', `/v1/alerts/${encodeURIComponent(a.id)}/ack`);
    } catch (err) {
      setError([...fieldErrors(err).values()].join('; '));
    }
    await refetchActive();
    setAcking('');
  };
  const row = (a: Alert, withAck: boolean) => (
    <tr class={`level-${a.level}`} data-alert={a.id}>
      <td>{a.level === 'ok' ? `cleared (peak ${a.peak})` : a.level}</td>
      <td>{def(a.kpi)?.label ?? a.kpi}</td>
      <td>
        {scopeLabel(a.scope)} · {windowLabel(a.window, def(a.kpi)?.kind)}
      </td>
      <td>
        {value(a, a.value)} {a.direction === 'above' ? '>' : '<'} {value(a, a.threshold)}
      </td>
      <td>{when(a.startedAt)}</td>
      <td>{a.endedAt ? when(a.endedAt) : ''}</td>
      <td>
        <Show
          when={a.acknowledgedBy}
          fallback={
            <Show when={withAck && props.ctx.canEdit}>
              <button type="button" disabled={acking() === a.id} onClick={() => void ack(a)}>
                Acknowledge
              </button>
            </Show>
          }
        >
          {a.acknowledgedBy} {a.acknowledgedAt ? when(a.acknowledgedAt) : ''}
        </Show>
      </td>
    </tr>
  );
  const head = () => (
    <TableHead columns={['Level', 'KPI', 'Scope', 'Value / threshold', 'Since', 'Ended', 'Acknowledged']} />
  );
  return (
    <section>
      <h2>Active alerts</h2>
      <p class="error" role="alert">{error() || activeFailure() || recentFailure()}</p>
      <table class="list-table">
        {head()}
        <tbody>
          <For each={active() ?? []} fallback={<tr><td colspan="7" class="muted">none</td></tr>}>
            {(a) => row(a, true)}
          </For>
        </tbody>
      </table>
      <h2>Last 24 hours</h2>
      <table class="list-table">
        {head()}
        <tbody>
          <For each={recent() ?? []} fallback={<tr><td colspan="7" class="muted">none</td></tr>}>
            {(a) => row(a, false)}
          </For>
        </tbody>
      </table>
    </section>
  );
};
