// Users (admins): who may sign in, with which role, and when each last did; add someone (a password typed or
// generated, to hand over: they change it under their account), change a role, set a new password, remove. Each change
// ends that user's sessions on every device.
import type { SignedInUser } from '../../../server/auth/principal.ts';
import { createSignal, For, Show, type Component } from 'solid-js';
import { PASSWORD_MIN_LENGTH } from '../../../server/auth/rules.ts';
import { ROLES, type Role } from '../../../server/auth/roles.ts';
import type { PublicUser } from '../../../server/auth/service.ts';
import { api } from '../lib/api.ts';
import { formatAgo } from '../lib/format.ts';
import { errorAt, errorsBesides, fieldErrors, TableHead } from './Console.tsx';
import { createRead } from './read.ts';

type UserRow = PublicUser & { lastSignInAt: string | null };

const ROLE_HELP: Record<Role, string> = {
  viewer: 'reads boards, figures, alerts and reports',
  supervisor: 'also edits boards, thresholds, displays and messages',
  admin: 'also manages users, ingest keys and reads the audit log',
};

/** 16 characters from 12 random bytes (96 bits): easy to read out, long enough for the password rule. */
function generatePassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
}

/** A password field with a Generate button that shows what it generated (to be handed over). */
const PasswordInput: Component<{ name: string; label: string; error: string; value: string; onInput: (v: string) => void }> = (props) => {
  const [shown, setShown] = createSignal(false);
  return (
    <label>
      {props.label}{' '}
      <input
        name={props.name}
        type={shown() ? 'text' : 'password'}
        autocomplete="new-password"
        minLength={PASSWORD_MIN_LENGTH}
        required
        value={props.value}
        onInput={(e) => props.onInput(e.currentTarget.value)}
        aria-invalid={props.error ? 'true' : undefined}
      />
      <button
        type="button"
        onClick={() => {
          props.onInput(generatePassword());
          setShown(true);
        }}
      >
        Generate
      </button>
      <span class="field-error">{props.error}</span>
    </label>
  );
};

export const UsersTab: Component<{ me: SignedInUser }> = (props) => {
  const [users, { refetch, failure }] = createRead(async () => (await api<{ users: UserRow[] }>('GET', '/v1/admin/users')).users);
  const [errors, setErrors] = createSignal(new Map<string, string>());
  const [done, setDone] = createSignal('');
  const [newPassword, setNewPassword] = createSignal('');
  /** The user whose password is being set, and the new one. */
  const [resetting, setResetting] = createSignal<string | null>(null);
  const [resetPassword, setResetPassword] = createSignal('');

  const run = async (what: () => Promise<unknown>, message: string) => {
    setErrors(new Map());
    setDone('');
    try {
      await what();
      setDone(message);
      return true;
    } catch (err) {
      setErrors(fieldErrors(err));
      return false;
    } finally {
      await refetch();
    }
  };
  const add = async (e: SubmitEvent) => {
    e.preventDefault();
    const formEl = e.currentTarget as HTMLFormElement;
    const form = new FormData(formEl);
    const username = String(form.get('username')).trim().toLowerCase();
    const body = { username, password: newPassword(), role: String(form.get('role')) };
    if (await run(() => api('POST', '/v1/admin/users', body), `Added ${username}. Hand them their password; they can change it under their name, top right.`)) {
      formEl.reset();
      setNewPassword('');
    }
  };
  const changeRole = async (u: UserRow, role: string, select: HTMLSelectElement) => {
    if (!confirm(`Make ${u.username} ${role === 'admin' ? 'an' : 'a'} ${role}? They are signed out everywhere and sign in again with the new role.`)) {
      select.value = u.role;
      return;
    }
    await run(() => api('PATCH', `/v1/admin/users/${encodeURIComponent(u.username)}`, { role }), `${u.username} is now ${role === 'admin' ? 'an' : 'a'} ${role}.`);
  };
  const setPassword = async (e: SubmitEvent) => {
    e.preventDefault();
    const username = resetting()!;
    if (await run(() => api('PATCH', `/v1/admin/users/${encodeURIComponent(username)}`, { password: resetPassword() }), `Set a new password for ${username}; they were signed out everywhere.`)) {
      setResetting(null);
      setResetPassword('');
    }
  };
  const remove = async (u: UserRow) => {
    if (!confirm(`Remove ${u.username}? They are signed out at once and can no longer sign in.`)) return;
    await run(() => api('DELETE', `/v1/admin/users/${encodeURIComponent(u.username)}`), `Removed ${u.username}.`);
  };

  return (
    <section>
      <h2>Users</h2>
      <p class="muted">
        People who sign in to the console and open boards in a browser. TVs do not need a user: they use a display (Displays). Changing a role or a
        password signs that person out everywhere.
      </p>
      <form class="row" onSubmit={add} data-form="add-user">
        <label>
          Username{' '}
          <input name="username" required maxLength={64} autocomplete="off" placeholder="ayse.k" aria-invalid={errorAt(errors(), '/username') ? 'true' : undefined} />
          <span class="field-error">{errorAt(errors(), '/username')}</span>
        </label>
        <label>
          Role{' '}
          <select name="role">
            <For each={ROLES}>{(r) => <option value={r} selected={r === 'viewer'}>{r}</option>}</For>
          </select>
        </label>
        <PasswordInput name="password" label="Password" value={newPassword()} onInput={setNewPassword} error={resetting() ? '' : errorAt(errors(), '/password')} />
        <button type="submit" class="primary">
          Add user
        </button>
      </form>
      <Show when={resetting()}>
        {(username) => (
          <form class="row once" onSubmit={setPassword} data-form="set-password">
            <strong>New password for {username()}</strong>
            <PasswordInput name="new-password" label="" value={resetPassword()} onInput={setResetPassword} error={errorAt(errors(), '/password')} />
            <button type="submit" class="primary">
              Set password
            </button>
            <button type="button" onClick={() => setResetting(null)}>
              Cancel
            </button>
          </form>
        )}
      </Show>
      <p class="ok" role="status">{done()}</p>
      <p class="error" role="alert">{errorsBesides(errors(), ['/username', '/password']) || failure()}</p>
      <table class="list-table">
        <TableHead columns={['User', 'Role', 'Last signed in', 'Added', '']} />
        <tbody>
          <For each={users() ?? []}>
            {(u) => {
              const self = () => u.username === props.me.username;
              return (
                <tr data-user={u.username}>
                  <td>
                    {u.username}
                    <Show when={self()}>
                      <span class="muted"> (you)</span>
                    </Show>
                  </td>
                  <td>
                    <select
                      value={u.role}
                      disabled={self()}
                      title={self() ? 'Another admin changes your role' : ROLE_HELP[u.role]}
                      onChange={(e) => void changeRole(u, e.currentTarget.value, e.currentTarget)}
                    >
                      <For each={ROLES}>{(r) => <option value={r}>{r}</option>}</For>
                    </select>
                  </td>
                  <td>{u.lastSignInAt ? formatAgo(Date.parse(u.lastSignInAt), Date.now()) : <span class="muted">never</span>}</td>
                  <td>{new Date(u.createdAt).toLocaleDateString()}</td>
                  <td class="nowrap">
                    {/* one's own here would end one's own sessions, this one included: the Account tab asks for the current one instead */}
                    <Show
                      when={!self()}
                      fallback={
                        <a class="button" href="#/console/account">
                          Change password
                        </a>
                      }
                    >
                      <button type="button" onClick={() => { setResetting(u.username); setResetPassword(''); setErrors(new Map()); }}>
                        Set password
                      </button>
                    </Show>
                    <button type="button" class="danger" disabled={self()} title={self() ? 'Another admin removes you' : undefined} onClick={() => void remove(u)}>
                      Remove
                    </button>
                  </td>
                </tr>
              );
            }}
          </For>
        </tbody>
      </table>
      <p class="muted">
        Roles: <strong>viewer</strong> {ROLE_HELP.viewer}; <strong>supervisor</strong> {ROLE_HELP.supervisor}; <strong>admin</strong> {ROLE_HELP.admin}.
      </p>
    </section>
  );
};
