// What a username and a password must be: checked by the API and the CLI, and shown by the console's forms (so this
// module imports nothing: the browser bundle uses it).

export const USERNAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < PASSWORD_MIN_LENGTH) return `a password needs at least ${PASSWORD_MIN_LENGTH} characters`;
  if (password.length > PASSWORD_MAX_LENGTH) return `a password may have at most ${PASSWORD_MAX_LENGTH} characters`;
  return undefined;
}
