/**
 * What to fix for the mistakes admins make most, as i18n keys (no Node-RED here: nodes translate
 * the key with their catalogs, see nodes/shared/status.ts). `hintKey` reads an error's code and
 * message; `shortCode` is the few characters a status shows before the translated hint.
 */
export type HintKey =
  | 'token' | 'aes-key' | 'app-secret' | 'app-id' | 'ip-whitelist' | 'api-unauthorised'
  | 'tenant-url' | 'service-path' | 'c4c-credentials' | 'timeout';

/** Which config node's catalog carries the texts of a hint (`<type>.hints.<key>`, `<type>.hints.short.<key>`). */
export const HINT_CATALOG: Record<HintKey, 'wechat-config' | 'c4c-config'> = {
  token: 'wechat-config', 'aes-key': 'wechat-config', 'app-secret': 'wechat-config', 'app-id': 'wechat-config',
  'ip-whitelist': 'wechat-config', 'api-unauthorised': 'wechat-config',
  'tenant-url': 'c4c-config', 'service-path': 'c4c-config', 'c4c-credentials': 'c4c-config', timeout: 'c4c-config',
};

const CONNECT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_TLS_CERT_ALTNAME_INVALID']);

interface ErrorLike { code?: unknown; errcode?: unknown; statusCode?: unknown; message?: unknown; reason?: unknown }

/** The hint for an error (WeChatApiError, C4CError, a network error, an inbound rejection), or undefined. */
export function hintKey(err: unknown): HintKey | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as ErrorLike;
  const code = String(e.errcode ?? e.code ?? '');
  const text = `${String(e.message ?? '')} ${String(e.reason ?? '')}`;
  if (/signature mismatch/i.test(text) || code === 'bad-signature') return 'token';
  if (/PKCS#7 padding|bad padding|DecryptAES|encodingAESKey/i.test(text)) return 'aes-key';
  switch (code) {
    case '40164': case '61004': return 'ip-whitelist';
    case '48001': return 'api-unauthorised';
    case '40125': case '40001': return code === '40125' ? 'app-secret' : undefined;
    case '40013': return 'app-id';
    case 'SY/530': return 'service-path';
    case 'C4C_401': case '401': return 'c4c-credentials';
    case 'ETIMEDOUT': case 'ECONNABORTED': return 'timeout';
    default: break;
  }
  // A connection failure towards WeChat's API is not about the C4C Tenant URL.
  if (CONNECT.has(code)) return (err as { name?: string }).name === 'WeChatHttpError' ? undefined : 'tenant-url';
  if (/Resource not found for (the )?segment/i.test(text)) return 'service-path';
  return undefined;
}

/** A status-sized code: `C4C 401`, `40164`, `ECONNREFUSED`, `SY/530`. */
export function shortCode(err: unknown): string {
  if (!err || typeof err !== 'object') return '';
  const e = err as ErrorLike;
  const code = String(e.errcode ?? e.code ?? '');
  const c4c = /^C4C_(\d{3})$/.exec(code);
  if (c4c) return `C4C ${c4c[1]}`;
  return code.slice(0, 14);
}
