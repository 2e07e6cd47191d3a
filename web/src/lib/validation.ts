/**
 * Client-side hints only: they help while typing, the server decides. Keep these in
 * step with the API contract (username ^[a-z][a-z0-9-]{1,31}$, password 8–256 chars).
 */
export const USERNAME_PATTERN = /^[a-z][a-z0-9-]{1,31}$/;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

export function usernameLooksValid(value: string): boolean {
  return USERNAME_PATTERN.test(value);
}

export function passwordLooksValid(value: string): boolean {
  return value.length >= PASSWORD_MIN && value.length <= PASSWORD_MAX;
}

/** A model's public name (the API contract): 1–64 of [A-Za-z0-9._:-], starting with a letter or digit. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
