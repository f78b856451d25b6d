/**
 * What to fix, for the failures admins meet most. The one hint table is the `hints` section of the
 * wechat-config catalogs (nodes/wechat-config/locales/en-US|zh-CN), keyed by code: `hints.<key>`
 * (the whole sentence) and `hints.short.<key>` (a few words for a status). An error names its entry
 * with `hintKey` (lib/errors.ts: the code itself unless the error says otherwise); this file has
 * no texts and no Node-RED: the nodes translate (nodes/shared/failure.ts).
 */

/** The catalog the hint table lives in (loaded with the package: every node can read it). */
export const HINT_CATALOG = 'wechat-config';

interface ErrorLike { code?: unknown; hintKey?: unknown; hintVars?: unknown }

/** The hint table's key for an error (its `hintKey`, else its code), or undefined. */
export function hintKeyOf(err: unknown): string | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as ErrorLike;
  if ('hintKey' in e) return typeof e.hintKey === 'string' && e.hintKey ? e.hintKey : undefined;
  return typeof e.code === 'string' && e.code ? e.code : typeof e.code === 'number' ? String(e.code) : undefined;
}

/** The values a hint's text names (`__ip__`), or undefined. */
export function hintVarsOf(err: unknown): Record<string, string> | undefined {
  const v = err && typeof err === 'object' ? (err as ErrorLike).hintVars : undefined;
  return v && typeof v === 'object' ? (v as Record<string, string>) : undefined;
}

/** A status-sized code: `C4C 401`, `40164`, `ECONNREFUSED`, `SY/530`. */
export function shortCode(code: string): string {
  const c4c = /^C4C_(\d{3})$/.exec(code);
  if (c4c) return `C4C ${c4c[1]}`;
  return code.slice(0, 14);
}

/**
 * Whether a status shows the code before the short hint: a WeChat errcode, a C4C or network code
 * (`45015: outside 48 h window`), but not one of the package's own codes, whose short hint says it
 * all (`C4C redirect: check the URL`).
 */
export function showsCode(code: string, hintKey: string | undefined): boolean {
  return code !== hintKey || !/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/.test(code) || /^C4C_\d+$/.test(code);
}
