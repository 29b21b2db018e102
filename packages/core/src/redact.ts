/**
 * Secret removal for everything the library writes: error messages, serialized errors, logs. Workers bindings
 * carry the password in `connectionString`; drivers echo URLs in some errors (pg's ERR_INVALID_URL `input`).
 */

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]+)(?::[^\s@/]*)?@/gi;
// Not MySQL's "(using password: YES)" / "(using password: NO)": whether a password was sent is no secret.
const KEY_VALUE_PASSWORD = /\b(password|passwd|pwd|pass)(\s*[=:]\s*)(?!(?:YES|NO)\))("[^"]*"|'[^']*'|[^\s,;&)}]+)/gi;

export const REDACTED = "[redacted]";

/** Removes every known secret, any URL credentials and any `password=…` pair from `text`. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    // Very short secrets would shred ordinary words; they are still caught by the patterns below.
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out.replace(URL_CREDENTIALS, `$1$2:${REDACTED}@`).replace(KEY_VALUE_PASSWORD, `$1$2${REDACTED}`);
}

/** True when `text` holds a secret or an unredacted URL credential. */
export function leaks(text: string, secrets: readonly string[] = []): boolean {
  return redact(text, secrets) !== text;
}
