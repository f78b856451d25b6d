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
