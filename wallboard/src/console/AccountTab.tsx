// Your account: who you are signed in as, and changing your own password. The change signs you out everywhere else
// (other browsers, scripts with your token); this browser stays signed in.
import type { SignedInUser } from '../../../server/auth/principal.ts';
import { createSignal, Show, type Component } from 'solid-js';
import { PASSWORD_MIN_LENGTH } from '../../../server/auth/rules.ts';
import { api } from '../lib/api.ts';
import { errorAt, errorsBesides, fieldErrors } from './Console.tsx';

export const AccountTab: Component<{ me: SignedInUser }> = (props) => {
  const [errors, setErrors] = createSignal(new Map<string, string>());
  const [changed, setChanged] = createSignal(false);

  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    const formEl = e.currentTarget as HTMLFormElement;
    const form = new FormData(formEl);
    setChanged(false);
    const newPassword = String(form.get('newPassword'));
    if (newPassword !== String(form.get('repeat'))) {
      setErrors(new Map([['/repeat', 'is not the same as the new password']]));
      return;
    }
    setErrors(new Map());
    try {
      await api('POST', '/v1/auth/password', { currentPassword: String(form.get('currentPassword')), newPassword });
      formEl.reset();
      setChanged(true);
    } catch (err) {
      setErrors(fieldErrors(err));
    }
  };
  const field = (name: string, label: string, autocomplete: string) => (
    <label>
      {label}{' '}
      <input
        name={name}
        type="password"
        autocomplete={autocomplete}
        required
        minLength={name === 'currentPassword' ? undefined : PASSWORD_MIN_LENGTH}
        aria-invalid={errorAt(errors(), `/${name}`) ? 'true' : undefined}
      />
      <span class="field-error">{errorAt(errors(), `/${name}`)}</span>
    </label>
  );

  return (
    <section>
      <h2>Your account</h2>
      <p>
        Signed in as <strong>{props.me.username}</strong>, {props.me.role}. An admin changes roles (Users).
      </p>
      <h2>Change your password</h2>
      <form class="signin account-form" onSubmit={submit} data-form="change-password">
        {field('currentPassword', 'Current password', 'current-password')}
        {field('newPassword', `New password (${PASSWORD_MIN_LENGTH} characters or more)`, 'new-password')}
        {field('repeat', 'New password again', 'new-password')}
        <button type="submit" class="primary">
          Change password
        </button>
        <p class="error" role="alert">{errorsBesides(errors(), ['/currentPassword', '/newPassword', '/repeat'])}</p>
        <Show when={changed()}>
          <p class="ok" role="status">
            Password changed. You were signed out everywhere else; this browser stays signed in.
          </p>
        </Show>
      </form>
    </section>
  );
};
