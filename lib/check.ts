/**
 * "Test connection" for the config dialogs: one token fetch for a WeChat account, one look at a
 * C4C tenant (service document with a CSRF token fetch, then $metadata). No Node-RED here; the
 * admin endpoints (nodes/shared/check.ts) translate the answer. Nothing secret is returned.
 */
import axios from 'axios';
import { WeChatClient, type TokenMode } from './wechat/api';
import { odataError } from './c4c/client';
import { hintKey, type HintKey } from './hints';
import { redact } from './util/redact';

export interface CheckResult {
  ok: boolean;
  /** errcode, C4C code or network code; '' when ok */
  code: string;
  /** English detail, secrets removed */
  message: string;
  hint?: HintKey;
  /** WeChat: the token's lifetime in seconds */
  expiresIn?: number;
}

function failure(err: unknown, secrets: string[]): CheckResult {
  const e = (err || {}) as { code?: unknown; errcode?: unknown; errmsg?: unknown; message?: unknown };
  const code = String(e.errcode ?? e.code ?? 'ERROR');
  // WeChat: errcode + errmsg only (the dialog shows the translated hint beside it)
  const message = e.errmsg !== undefined ? `${code} ${String(e.errmsg)}` : String(e.message ?? err);
  return { ok: false, code, message: redact(message, secrets), hint: hintKey(err) };
}

export async function checkWeChat(opts: { apiBase: string; appId: string; secret: string; mode?: TokenMode; timeoutMs?: number }): Promise<CheckResult> {
  if (!/^wx[0-9a-f]{16}$/i.test(opts.appId)) return { ok: false, code: '40013', message: 'the AppID is not wx + 16 hex characters', hint: 'app-id' };
  if (!opts.secret) return { ok: false, code: '40125', message: 'no AppSecret', hint: 'app-secret' };
  const client = new WeChatClient({ apiBase: opts.apiBase, appId: opts.appId, secret: opts.secret, mode: opts.mode, retries: 0, timeoutMs: opts.timeoutMs ?? 10000 });
  client.on('token-error', () => undefined);
  try {
    const record = await client.refresh();
    return { ok: true, code: '', message: `access token valid for ${record.expiresIn} s`, expiresIn: record.expiresIn };
  } catch (err) {
    return failure(err, [opts.secret]);
  } finally {
    client.close();
  }
}

export async function checkC4C(opts: { baseUrl: string; servicePath: string; username: string; password: string; timeoutMs?: number }): Promise<CheckResult> {
  const secrets = [opts.password, Buffer.from(`${opts.username}:${opts.password}`).toString('base64')];
  let base: URL;
  try {
    base = new URL(opts.baseUrl);
  } catch {
    return { ok: false, code: 'BAD_URL', message: 'the Tenant URL is not a URL', hint: 'tenant-url' };
  }
  if (base.pathname !== '/' && base.pathname !== '') return { ok: false, code: 'SY/530', message: 'the Tenant URL has a path', hint: 'service-path' };
  if (!opts.username || !opts.password) return { ok: false, code: 'C4C_401', message: 'no user or password', hint: 'c4c-credentials' };
  const service = `${base.origin}/${String(opts.servicePath || '/sap/c4c/odata/v1/c4codataapi').replace(/^\/+|\/+$/g, '')}`;
  const http = axios.create({
    timeout: opts.timeoutMs ?? 15000, responseType: 'text', transformResponse: [(d: unknown) => d],
    validateStatus: () => true, maxRedirects: 0,
    headers: { Authorization: `Basic ${secrets[1]}`, Accept: 'application/json' },
  });
  try {
    const doc = await http.get(`${service}/`, { params: { $format: 'json' }, headers: { 'x-csrf-token': 'Fetch' } });
    if (doc.status >= 300 && doc.status < 400) return { ok: false, code: `C4C_${doc.status}`, message: `redirected (${doc.status}): a login page? Use a user with Basic authentication`, hint: 'c4c-credentials' };
    if (doc.status !== 200) throw odataError(doc.status, String(doc.data ?? ''), 'service document');
    const csrf = String(doc.headers['x-csrf-token'] ?? '');
    if (!csrf || /^required$/i.test(csrf)) return { ok: false, code: 'NO_CSRF', message: 'C4C sent no CSRF token: creating customers would fail', hint: 'c4c-credentials' };
    const cookies = ([] as string[]).concat(doc.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
    const meta = await http.get(`${service}/$metadata`, { headers: { Accept: 'application/xml', ...(cookies ? { Cookie: cookies } : {}) } });
    if (meta.status !== 200) throw odataError(meta.status, String(meta.data ?? ''), '$metadata');
    if (!/IndividualCustomer/.test(String(meta.data))) return { ok: false, code: 'NO_ENTITY', message: '$metadata has no IndividualCustomer: is this the c4codataapi service?', hint: 'service-path' };
    return { ok: true, code: '', message: 'service document, CSRF token and $metadata read' };
  } catch (err) {
    const e = err as { code?: string; message?: string; statusCode?: number };
    if (e && typeof e.code === 'string' && !e.statusCode && /^E[A-Z]+$/.test(e.code)) {
      return { ok: false, code: e.code, message: redact(`${e.code}: ${e.message ?? ''}`, secrets), hint: hintKey(e) };
    }
    return failure(err, secrets);
  }
}
