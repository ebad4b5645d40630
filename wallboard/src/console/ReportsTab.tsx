// Reports: one local day by 15-minute interval, and its total, for the scopes asked (center, a queue, `queue:*` for
// every queue with figures that day) — the figures of the trend charts, for reviewing a shift; CSV for a spreadsheet
// (every KPI, every interval). Today's report is read again every minute.
import { createSignal, For, onCleanup, Show, type Component } from 'solid-js';
import type { KpiDefinition } from '../../../server/kpi/catalog.ts';
import type { DayReport } from '../../../server/kpi/report.ts';
import { api } from '../lib/api.ts';
import { formatClock, formatValue, scopeLabel } from '../lib/format.ts';
import { fieldErrors, type ConsoleContext } from './Console.tsx';
import { createRead } from './read.ts';

/** The columns shown (the CSV has every windowed KPI). */
const COLUMNS = ['offered', 'answered', 'abandoned', 'abandon_rate', 'service_level', 'asa', 'aht', 'frt', 'csat', 'nps', 'fcr'];

type Values = DayReport['scopes'][number]['total'];

export const ReportsTab: Component<{ ctx: ConsoleContext }> = (props) => {
  const [query, setQuery] = createSignal<{ date: string; scopes: string[] }>({ date: '', scopes: ['center'] });
  const [error, setError] = createSignal('');
  const params = () => {
    const q = new URLSearchParams();
    if (query().date) q.set('date', query().date);
    for (const s of query().scopes) q.append('scope', s);
    return q;
  };
  const [report, { refetch }] = createRead(
    async (q: URLSearchParams) => {
      setError('');
      try {
        return await api<DayReport>('GET', `/v1/kpis/report?${q}`);
      } catch (err) {
        setError([...fieldErrors(err).values()].join('; '));
        throw err;
      }
    },
    { source: params },
  );
  // today's, read again every minute (also after a failed read, which keeps what was shown)
  const timer = setInterval(() => {
    if (report() === undefined ? query().date === '' : !report()!.complete) void refetch();
  }, 60_000);
  onCleanup(() => clearInterval(timer));

  const defs = () => COLUMNS.map((k) => props.ctx.catalog.find((d) => d.key === k)).filter((d): d is KpiDefinition => d !== undefined);
  const cell = (values: Values, d: KpiDefinition) => {
    const f = formatValue(values[d.key]?.value, d);
    return `${f.text}${f.unit}`;
  };
  const csvHref = () => {
    const q = params();
    q.set('date', report()?.date ?? query().date);
    q.set('format', 'csv');
    return `/v1/kpis/report?${q}`;
  };
  const show = (e: SubmitEvent) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const scopes = String(form.get('scopes')).split(/[\s,]+/).filter(Boolean);
    setQuery({ date: String(form.get('date')), scopes: scopes.length > 0 ? scopes : ['center'] });
  };
  const active = (values: Values) => Object.values(values).some((v) => v !== undefined && v.n > 0);

  return (
    <section>
      <h2>Day report</h2>
      <p class="muted">
        One day by quarter hour, on the center's clock, with the day's total (computed over the day, never an average of the rows). Quarter hours with
        nothing in them are left out here; the CSV has them all, and every KPI.
      </p>
      <form class="row report-form" onSubmit={show}>
        <label>
          Day <input type="date" name="date" value={report()?.date ?? query().date} />
        </label>
        <label>
          Scopes <input name="scopes" list="threshold-scope-hints" value={query().scopes.join(' ')} placeholder="center queue:*" />
        </label>
        <button type="submit" class="primary">
          Show
        </button>
        <Show when={report()}>
          <a class="csv" href={csvHref()} download={`nabiz-report-${report()!.date}.csv`}>
            Download CSV
          </a>
        </Show>
      </form>
      <p class="error" role="alert">{error()}</p>
      <Show when={report()}>
        {(r) => (
          <>
            <p class="muted report-status">
              {r().date} · {r().timeZone} · {r().complete ? 'the whole day' : `so far, as of ${formatClock(Date.parse(r().asOf), r().timeZone)}`}
            </p>
            <Show when={r().scopes.length > 0} fallback={<p class="muted">No figures for these scopes that day.</p>}>
              <For each={r().scopes}>
                {(s) => (
                  <table class="list-table report" data-scope={s.scope}>
                    <caption>{scopeLabel(s.scope)}</caption>
                    <thead>
                      <tr>
                        <th>Time</th>
                        <For each={defs()}>{(d) => <th class="num">{d.label}</th>}</For>
                      </tr>
                    </thead>
                    <tbody>
                      <tr class="total">
                        <th>Day</th>
                        <For each={defs()}>{(d) => <td class="num" data-kpi={d.key}>{cell(s.total, d)}</td>}</For>
                      </tr>
                      <For each={s.intervals.filter((p) => active(p.values))}>
                        {(p) => (
                          <tr data-start={p.start}>
                            <th class="nowrap">
                              {formatClock(Date.parse(p.start), r().timeZone)}–{formatClock(Date.parse(p.end), r().timeZone)}
                            </th>
                            <For each={defs()}>{(d) => <td class="num" data-kpi={d.key}>{cell(p.values, d)}</td>}</For>
                          </tr>
                        )}
                      </For>
                    </tbody>
                  </table>
                )}
              </For>
            </Show>
          </>
        )}
      </Show>
    </section>
  );
};
