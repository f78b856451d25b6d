/**
 * Redaction for anything that may reach a log line, an error, a status or a msg: query
 * parameters and JSON fields that carry credentials, Basic/Bearer authorisation, and any
 * explicitly known secret value.
 */
const SECRET_PARAMS = /([?&;](?:access_token|secret|appsecret|app_secret|password|token|encodingaeskey)=)[^&#\s"']*/gi;
const SECRET_JSON = /("(?:access_token|secret|appsecret|app_secret|password|encodingAESKey|previousEncodingAESKey)"\s*:\s*")[^"]*(")/gi;
const AUTH_HEADER = /\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]{6,}/g;

export const REDACTED = '***';

export function redact(text: unknown, secrets: readonly (string | undefined)[] = []): string {
  let out = String(text ?? '');
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join(REDACTED);
  }
  return out
    .replace(SECRET_PARAMS, `$1${REDACTED}`)
    .replace(SECRET_JSON, `$1${REDACTED}$2`)
    .replace(AUTH_HEADER, `$1 ${REDACTED}`);
}
