// The console for supervisors and admins (viewers see it read-only): boards, displays, thresholds, alerts, messages,
// reports, sources; for admins also users, ingest keys and the audit log; for everyone their account (own password).
// Loaded lazily (App.tsx): a TV never downloads it.
import { createResource, createSignal, For, Match, Show, Switch, type Component } from 'solid-js';
import type { PublicPrincipal, SignedInUser } from '../../../server/auth/principal.ts';
import type { KpiDefinition } from '../../../server/kpi/catalog.ts';
import { api, ApiFailure } from '../lib/api.ts';
import { AccountTab } from './AccountTab.tsx';
import { AlertsTab } from './AlertsTab.tsx';
import { AuditTab } from './AuditTab.tsx';
import { KeysTab } from './KeysTab.tsx';
import { UsersTab } from './UsersTab.tsx';
import { MessagesTab } from './MessagesTab.tsx';
import { ReportsTab } from './ReportsTab.tsx';
import { SourcesTab } from './SourcesTab.tsx';
import { ScopeHints } from './ScopeHints.tsx';
import { BoardsTab } from './BoardsTab.tsx';
import { DisplaysTab } from './DisplaysTab.tsx';
import './console.css';
import { ThresholdsTab } from './ThresholdsTab.tsx';
import { onSignedOut } from './read.ts';

export interface ConsoleContext {
  me: SignedInUser;
  canEdit: boolean;
  catalog: KpiDefinition[];
  /** The center's time zone (CENTER_TZ): times are shown in it, as on the TVs. */
  timeZone: string;
}

const TABS = ['boards', 'displays', 'thresholds', 'alerts', 'messages', 'reports', 'sources'] as const;
/** Only admins see these (the API refuses the others anyway). */
const ADMIN_TABS = ['users', 'keys', 'audit'] as const;
const TAB_LABELS: Record<string, string> = { keys: 'Ingest keys', audit: 'Audit log' };

async function whoAmI(): Promise<PublicPrincipal | null> {
  try {
    return (await api<{ principal: PublicPrincipal }>('GET', '/v1/auth/me')).principal;
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) return null;
    throw err;
  }
}

const SignIn: Component<{ onDone: () => void; note?: string }> = (props) => {
  const [error, setError] = createSignal('');
  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    try {
      await api('POST', '/v1/auth/login', { username: String(form.get('username')), password: String(form.get('password')) });
      props.onDone();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <form class="signin" onSubmit={submit}>
      <h1>Nabız console</h1>
      <Show when={props.note}>
        <p class="muted">{props.note}</p>
      </Show>
      <label>
        Username <input name="username" autocomplete="username" required />
      </label>
      <label>
        Password <input name="password" type="password" autocomplete="current-password" required />
      </label>
      <button type="submit">Sign in</button>
      <p class="error" role="alert">{error()}</p>
    </form>
  );
};

const Console: Component<{ tab?: string }> = (props) => {
  const [me, { refetch }] = createResource(whoAmI);
  /** The person signed in (the console is for people: a display's cookie gets the sign-in form). */
  const user = () => {
    const m = me();
    return m?.kind === 'user' ? m : null;
  };
  // a read that finds the session ended (expired, ended by an admin): the sign-in form
  onSignedOut(() => void refetch());
  // only once signed in (before that the API answers 401)
  const [catalog] = createResource(
    () => user()?.username ?? null,
    async () => api<{ kpis: KpiDefinition[]; timeZone: string }>('GET', '/v1/kpis/catalog'),
  );
  const tabs = (): readonly string[] => (user()?.role === 'admin' ? [...TABS, ...ADMIN_TABS] : TABS);
  const tab = () => ([...tabs(), 'account'].includes(props.tab ?? '') ? props.tab! : 'boards');
  const signOut = async () => {
    await api('POST', '/v1/auth/logout').catch(() => {});
    await refetch();
  };
  return (
    <div class="console">
      <Switch fallback={<p class="muted pad">Loading…</p>}>
        <Match when={me.error}>
          <p class="error pad">{String(me.error?.message ?? me.error)}</p>
        </Match>
        <Match when={me.state === 'ready' && !user()}>
          <SignIn onDone={() => void refetch()} note={me()?.kind === 'display' ? 'This browser is signed in as a display; sign in as a person to use the console.' : undefined} />
        </Match>
        <Match when={user() && catalog()}>
          {(_) => {
            const ctx = (): ConsoleContext => ({ me: user()!, canEdit: user()!.role === 'supervisor' || user()!.role === 'admin', catalog: catalog()!.kpis, timeZone: catalog()!.timeZone });
            return (
              <>
                <nav class="tabs">
                  <strong>Nabız</strong>
                  {tabs().map((t) => (
                    <a href={`#/console/${t}`} classList={{ active: tab() === t }}>
                      {TAB_LABELS[t] ?? t[0]!.toUpperCase() + t.slice(1)}
                    </a>
                  ))}
                  <span class="spacer" />
                  <a href="#/">Board</a>
                  <a class="who" href="#/console/account" classList={{ active: tab() === 'account' }} data-role={user()!.role} title="Your account: change your password">
                    {user()!.username} ({user()!.role}{ctx().canEdit ? '' : ', read-only'})
                  </a>
                  <button type="button" onClick={signOut}>
                    Sign out
                  </button>
                </nav>
                <main class="tab-body">
                  <ScopeHints />
                  <Switch>
                    <Match when={tab() === 'boards'}>
                      <BoardsTab ctx={ctx()} />
                    </Match>
                    <Match when={tab() === 'displays'}>
                      <DisplaysTab ctx={ctx()} />
                    </Match>
                    <Match when={tab() === 'thresholds'}>
                      <ThresholdsTab ctx={ctx()} />
                    </Match>
                    <Match when={tab() === 'alerts'}>
                      <AlertsTab ctx={ctx()} />
                    </Match>
                    <Match when={tab() === 'messages'}>
                      <MessagesTab ctx={ctx()} />
                    </Match>
                    <Match when={tab() === 'reports'}>
                      <ReportsTab ctx={ctx()} />
                    </Match>
                    <Match when={tab() === 'sources'}>
                      <SourcesTab />
                    </Match>
                    <Match when={tab() === 'users'}>
                      <UsersTab me={user()!} />
                    </Match>
                    <Match when={tab() === 'keys'}>
                      <KeysTab />
                    </Match>
                    <Match when={tab() === 'audit'}>
                      <AuditTab />
                    </Match>
                    <Match when={tab() === 'account'}>
                      <AccountTab me={user()!} />
                    </Match>
                  </Switch>
                </main>
              </>
            );
          }}
        </Match>
      </Switch>
    </div>
  );
};

export default Console;

/** A live figure (waiting, the agents…) has one value, now, whatever the window: the API keeps it under `today`. */
export function isLiveKpi(catalog: KpiDefinition[], key: string): boolean {
  return catalog.find((k) => k.key === key)?.kind === 'live';
}

/** A list table's header row: one cell a column ('' for a column of buttons). */
export const TableHead: Component<{ columns: readonly string[] }> = (props) => (
  <thead>
    <tr>
      <For each={props.columns}>{(c) => <th>{c}</th>}</For>
    </tr>
  </thead>
);

/** The problems `fieldErrors` found at `path` or inside it, for the text beside that field. */
export function errorAt(errors: Map<string, string>, path: string): string {
  return [...errors].filter(([p]) => p === path || p.startsWith(`${path}/`)).map(([, m]) => m).join('; ');
}

/** The problems `fieldErrors` found anywhere but at these fields (shown above the form). */
export function errorsBesides(errors: Map<string, string>, paths: readonly string[]): string {
  return [...errors].filter(([p]) => !paths.some((f) => p === f || p.startsWith(`${f}/`))).map(([, m]) => m).join('; ');
}

/** Maps the API's field problems (`details: [{path, message}]`) to a lookup by path. */
export function fieldErrors(err: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (err instanceof ApiFailure) {
    for (const d of err.details) out.set(d.path, out.has(d.path) ? `${out.get(d.path)}; ${d.message}` : d.message);
    if (out.size === 0) out.set('', err.message);
  } else if (err) out.set('', String((err as Error).message ?? err));
  return out;
}
