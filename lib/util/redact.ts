/**
 * Redaction for anything that may reach a log line, an error, a status or a msg: query
 * parameters and JSON fields that carry credentials, Basic/Bearer authorisation, credentials
 * inside a URL (`//user:password@`), and any
 * explicitly known secret value.
 */
const SECRET_PARAMS = /([?&;](?:access_token|secret|appsecret|app_secret|password|token|encodingaeskey)=)[^&#\s"']*/gi;
const SECRET_JSON = /("(?:access_token|token|secret|appsecret|app_secret|password|encodingAESKey|previousEncodingAESKey)"\s*:\s*")[^"]*(")/gi;
const AUTH_HEADER = /\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]{6,}/g;
/** user:password@ (or :password@) in a URL: `redis://:pw@host`, `https://user:pw@host`. */
const URL_CREDENTIALS = /(\/\/)[^/\s@]*:[^/\s@]*@/g;

const REDACTED = '***';

export function redact(text: unknown, secrets: readonly (string | undefined)[] = []): string {
  let out = String(text ?? '');
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join(REDACTED);
  }
  return out
    .replace(SECRET_PARAMS, `$1${REDACTED}`)
    .replace(SECRET_JSON, `$1${REDACTED}$2`)
    .replace(AUTH_HEADER, `$1 ${REDACTED}`)
    .replace(URL_CREDENTIALS, `$1${REDACTED}@`);
}
