// Thresholds: one table per KPI, the center default first, then `<kind>:*` and per-queue/team overrides. Each row
// is edited in place; the API's validation errors show next to the field they are about.
import { createSignal, For, Show, type Component } from 'solid-js';
import { createStore, produce, reconcile } from 'solid-js/store';
import { api } from '../lib/api.ts';
import { type ConsoleContext, fieldErrors, isLiveKpi, TableHead } from './Console.tsx';
import { createRead } from './read.ts';

interface Threshold {
  id: string;
  kpi: string;
  scope: string;
  window: 'today' | '1h' | '15m';
  direction: 'above' | 'below';
  warning: number;
  critical: number;
  forSeconds: number;
  clearBand: number;
  /** The least sample (n) judged: "From n". */
  minCount: number;
  enabled: boolean;
  updatedAt?: string;
  updatedBy?: string;
}

type Row = Threshold & { key: string; isNew: boolean; dirty: boolean };

const scopeRank = (s: string) => (s === 'center' ? 0 : s.endsWith(':*') ? 1 : 2);

export const ThresholdsTab: Component<{ ctx: ConsoleContext }> = (props) => {
  const [rows, setRows] = createStore<{ list: Row[] }>({ list: [] });
  const [errors, setErrors] = createSignal(new Map<string, Map<string, string>>());
  const [addKpi, setAddKpi] = createSignal('service_level');
  /** Rows being saved: Save waits (a second click on a new row would create it twice). */
  const [saving, setSaving] = createSignal(new Set<string>());
  const [loaded, { refetch, failure }] = createRead(async () => {
    const { thresholds } = await api<{ thresholds: Threshold[] }>('GET', '/v1/thresholds');
    setRows('list', reconcile(thresholds.map((t) => ({ ...t, key: t.id, isNew: false, dirty: false })), { key: 'key' }));
    return true;
  });
  const ro = () => !props.ctx.canEdit;
  const kpis = () => props.ctx.catalog.filter((k) => rows.list.some((r) => r.kpi === k.key));
  const rowsOf = (kpi: string) =>
    rows.list
      .filter((r) => r.kpi === kpi)
      .sort((a, b) => scopeRank(a.scope) - scopeRank(b.scope) || a.scope.localeCompare(b.scope) || a.window.localeCompare(b.window));
  const edit = (key: string, fn: (r: Row) => void) =>
    setRows('list', (r) => r.key === key, produce((r) => {
      fn(r);
      r.dirty = true;
    }));
  const errOf = (key: string, field: string) => errors().get(key)?.get(field);
  const setErr = (key: string, m: Map<string, string>) => setErrors((all) => new Map(all).set(key, m));

  const add = (kpi: string) => {
    const def = props.ctx.catalog.find((k) => k.key === kpi);
    const base = rowsOf(kpi)[0];
    const key = `new-${Math.random().toString(36).slice(2)}`;
    const direction = base?.direction ?? (def?.direction === 'higher' ? 'below' : 'above');
    setRows('list', (l) => [
      ...l,
      {
        key,
        id: '',
        isNew: true,
        dirty: true,
        kpi,
        scope: base ? 'queue:' : 'center',
        window: isLiveKpi(props.ctx.catalog, kpi) ? 'today' : (base?.window ?? '15m'),
        direction,
        warning: base?.warning ?? (direction === 'below' ? 80 : 10),
        critical: base?.critical ?? (direction === 'below' ? 70 : 20),
        forSeconds: base?.forSeconds ?? 0,
        clearBand: base?.clearBand ?? 0,
        minCount: base?.minCount ?? 0,
        enabled: true,
      },
    ]);
  };
  const save = async (r: Row) => {
    const body = { kpi: r.kpi, scope: r.scope, window: r.window, direction: r.direction, warning: r.warning, critical: r.critical, forSeconds: r.forSeconds, clearBand: r.clearBand, minCount: r.minCount, enabled: r.enabled };
    // an emptied number field (NaN) is not a 0
    const empty = (['warning', 'critical', 'forSeconds', 'clearBand', 'minCount'] as const).filter((f) => !Number.isFinite(body[f]));
    if (empty.length > 0) return setErr(r.key, new Map(empty.map((f) => [`/${f}`, 'a number is needed'])));
    setErr(r.key, new Map());
    setSaving((s) => new Set(s).add(r.key));
    try {
      // an edit replaces the version opened only: another supervisor's change since is not undone (412)
      const res = r.isNew
        ? await api<{ threshold: Threshold }>('POST', '/v1/thresholds', body)
        : await api<{ threshold: Threshold }>('PUT', `/v1/thresholds/${encodeURIComponent(r.id)}`, body, undefined, { 'if-match': `"${r.updatedAt}"` });
      setRows('list', (x) => x.key === r.key, { ...res.threshold, key: r.key, isNew: false, dirty: false });
    } catch (err) {
      setErr(r.key, fieldErrors(err));
    } finally {
      setSaving((s) => {
        const next = new Set(s);
        next.delete(r.key);
        return next;
      });
    }
  };
  const remove = async (r: Row) => {
    if (!r.isNew) {
      try {
        await api('DELETE', `/v1/thresholds/${encodeURIComponent(r.id)}`);
      } catch (err) {
        setErr(r.key, fieldErrors(err));
        return;
      }
    }
    setRows('list', (l) => l.filter((x) => x.key !== r.key));
  };

  const num = (r: Row, field: 'warning' | 'critical' | 'forSeconds' | 'clearBand' | 'minCount', step = 'any') => (
    <td>
      <input
        type="number"
        step={step}
        name={field}
        value={r[field]}
        aria-invalid={errOf(r.key, `/${field}`) ? 'true' : undefined}
        onInput={(e) => edit(r.key, (x) => (x[field] = e.currentTarget.valueAsNumber))}
      />
      <Show when={errOf(r.key, `/${field}`)}>
        <div class="field-error">{errOf(r.key, `/${field}`)}</div>
      </Show>
    </td>
  );

  return (
    <section>
      <h2>Thresholds</h2>
      <p class="error" role="alert">{failure()}</p>
      <p class="muted">
        The center default applies to the center and to every queue and team; a <code>queue:*</code> row to every queue; a named queue or team overrides both. A
        breach must hold “for” seconds before it alerts.
      </p>
      <Show when={!ro()}>
        <div class="row">
          <select value={addKpi()} onChange={(e) => setAddKpi(e.currentTarget.value)}>
            <For each={props.ctx.catalog}>{(k) => <option value={k.key}>{k.label}</option>}</For>
          </select>
          <button type="button" onClick={() => add(addKpi())}>
            Add threshold
          </button>
        </div>
      </Show>
      <Show when={loaded()} fallback={<p class="muted">{failure() ? '' : 'Loading…'}</p>}>
        <For each={kpis()} fallback={<p class="muted">No thresholds yet.</p>}>
          {(k) => (
            <fieldset class="kpi-thresholds" disabled={ro()} data-kpi={k.key}>
              <legend>
                {k.label} <span class="muted">({k.unit}, {k.direction === 'neutral' ? 'volume' : `${k.direction} is better`})</span>
              </legend>
              <table class="list-table">
                <TableHead columns={['Scope', 'Window', 'Breach when', 'Warning', 'Critical', 'For (s)', 'Clear band', 'From n', 'On', '']} />
                <tbody>
                  <For each={rowsOf(k.key)}>
                    {(r) => (
                      <tr data-threshold={r.id || r.key} data-scope={r.scope} classList={{ dirty: r.dirty }}>
                        <td>
                          <input name="scope" list="threshold-scope-hints" size="14" value={r.scope} onInput={(e) => edit(r.key, (x) => (x.scope = e.currentTarget.value.trim()))} />
                          <Show when={errOf(r.key, '/scope')}>
                            <div class="field-error">{errOf(r.key, '/scope')}</div>
                          </Show>
                        </td>
                        <td>
                          <Show when={!isLiveKpi(props.ctx.catalog, r.kpi)} fallback={<span class="muted" data-window="now">now</span>}>
                            <select name="window" value={r.window} onChange={(e) => edit(r.key, (x) => (x.window = e.currentTarget.value as Row['window']))}>
                              <option value="today">today</option>
                              <option value="1h">1h</option>
                              <option value="15m">15m</option>
                            </select>
                          </Show>
                        </td>
                        <td>
                          <select name="direction" value={r.direction} onChange={(e) => edit(r.key, (x) => (x.direction = e.currentTarget.value as Row['direction']))}>
                            <option value="above">above</option>
                            <option value="below">below</option>
                          </select>
                        </td>
                        {num(r, 'warning')}
                        {num(r, 'critical')}
                        {num(r, 'forSeconds', '1')}
                        {num(r, 'clearBand')}
                        {num(r, 'minCount', '1')}
                        <td>
                          <input type="checkbox" name="enabled" checked={r.enabled} onChange={(e) => edit(r.key, (x) => (x.enabled = e.currentTarget.checked))} />
                        </td>
                        <td class="nowrap">
                          <Show when={!ro()}>
                            <button type="button" class="primary" disabled={!r.dirty || saving().has(r.key)} onClick={() => void save(r)}>
                              Save
                            </button>
                            <button type="button" class="danger" onClick={() => void remove(r)}>
                              Delete
                            </button>
                          </Show>
                          <Show when={errOf(r.key, '')}>
                            <div class="field-error">{errOf(r.key, '')}</div>
                          </Show>
                        </td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
              <Show when={!ro()}>
                <button type="button" onClick={() => add(k.key)}>
                  Add override
                </button>
              </Show>
            </fieldset>
          )}
        </For>
      </Show>
      <Show when={!ro()}>
        <button type="button" onClick={() => void refetch()}>
          Reload
        </button>
      </Show>
    </section>
  );
};
