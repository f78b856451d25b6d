/**
 * The runtime's `${VAR}` rule: Node-RED's own (a whole value naming an environment variable). The
 * editor's copy is resources/env-ref.js.
 */
export const ENV_REF = /^\$\{(\S+)\}$/;

/**
 * Node-RED replaces a whole-value `${NAME}` with the environment variable, but leaves the text
 * as it is when the variable is not set. Such a value means "not configured", with a name to report.
 */
export function configured(value: unknown): { value: string; missing?: string } {
  const text = value === undefined || value === null ? '' : String(value).trim();
  const m = ENV_REF.exec(text);
  return m ? { value: '', missing: m[1] } : { value: text };
}

/** A numeric property: empty, unset `${VAR}`, not a number or below `min` → `fallback`. */
export function numberOr(value: unknown, fallback: number, min = 0): number {
  const text = configured(value).value;
  const n = text === '' ? NaN : Number(text);
  return Number.isFinite(n) && n >= min ? n : fallback;
}

/**
 * The environment variable each secret falls back to when its field is left empty (README, step 4):
 * an example imported without credentials runs on the documented variables.
 */
export const SECRET_ENV = {
  'wechat-config': { appSecret: 'WECHAT_APP_SECRET', token: 'WECHAT_TOKEN', encodingAESKey: 'WECHAT_AES_KEY' },
  'c4c-config': { username: 'C4C_USER', password: 'C4C_PASSWORD' },
  'c4c-event-in': { username: 'C4C_EVENT_USER', password: 'C4C_EVENT_PASSWORD' },
  'c4c-agent-reply': { username: 'C4C_REPLY_USER', password: 'C4C_REPLY_PASSWORD' },
} as const;

/**
 * A secret as configured: typed (the value), `${NAME}` (that variable; `missing` names it when
 * unset), or empty: the documented variable `envName` (`fromEnv` names it), or `missing` names that
 * variable when it is not set either — what the admin has to set.
 */
/**
 * The Basic credentials an inbound caller must send (C4C's change events, its mashup): each field
 * as `secretOr` reads it, the variables that filled empty fields (`fromEnv`, for one log line), and
 * the fields given as an unset `${VAR}` (`unset`: every call is then refused, never let through).
 * Both values empty (and nothing unset): no check.
 */
export function inboundCredentials(creds: Record<string, unknown>, env: { username: string; password: string }): { username: string; password: string; fromEnv: string[]; unset: string[] } {
  const user = secretOr(creds.username, env.username);
  const pass = secretOr(creds.password, env.password);
  return {
    username: user.value,
    password: pass.value,
    fromEnv: [user.fromEnv, pass.fromEnv].filter((x): x is string => !!x),
    unset: [configured(creds.username).missing, configured(creds.password).missing].filter((x): x is string => !!x),
  };
}

export function secretOr(value: unknown, envName: string, env: NodeJS.ProcessEnv = process.env): { value: string; missing?: string; fromEnv?: string } {
  const c = configured(value);
  if (c.missing || c.value) return c;
  const fallback = String(env[envName] ?? '').trim();
  return fallback ? { value: fallback, fromEnv: envName } : { value: '', missing: envName };
}
