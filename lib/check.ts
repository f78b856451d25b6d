/**
 * "Test connection" for the config dialogs: one token fetch for a WeChat account, one look at a
 * C4C tenant (service document with a CSRF token fetch, then $metadata as the nodes read it). No Node-RED here; the
 * admin endpoints (nodes/shared/check.ts) translate the answer. Nothing secret is returned.
 */
import { WeChatClient, type TokenMode } from './wechat/api';
import { C4CClient } from './c4c/client';
import { hintKeyOf, hintVarsOf } from './hints';
import { redact } from './util/redact';

export interface CheckResult {
  ok: boolean;
  /** errcode, C4C code or network code; '' when ok */
  code: string;
  /** English detail, secrets removed */
  message: string;
  /** the hint table's key (lib/hints.ts) and the values its text names */
  hint?: string;
  hintVars?: Record<string, string>;
  /** WeChat: the token's lifetime in seconds */
  expiresIn?: number;
  /** C4C: the tenant did not answer `$metadata?$filter=` (the full $metadata was read) */
  fullMetadata?: boolean;
}

function failure(err: unknown, secrets: string[]): CheckResult {
  const e = (err || {}) as { code?: unknown; errcode?: unknown; errmsg?: unknown; message?: unknown };
  const code = String(e.errcode ?? e.code ?? 'ERROR');
  // WeChat: errcode + errmsg only (the dialog shows the translated hint beside it)
  const message = e.errmsg !== undefined ? `${code} ${String(e.errmsg)}` : String(e.message ?? err);
  return { ok: false, code, message: redact(message, secrets), hint: hintKeyOf(err), hintVars: hintVarsOf(err) };
}

export async function checkWeChat(opts: { apiBase: string; appId: string; secret: string; mode?: TokenMode; timeoutMs?: number }): Promise<CheckResult> {
  if (!/^wx[0-9a-f]{16}$/i.test(opts.appId)) return { ok: false, code: '40013', message: 'the AppID is not wx + 16 hex characters', hint: '40013' };
  if (!opts.secret) return { ok: false, code: '40125', message: 'no AppSecret', hint: '40125' };
  const client = new WeChatClient({ apiBase: opts.apiBase, appId: opts.appId, secret: opts.secret, mode: opts.mode, retry: { retries: 0 }, timeoutMs: opts.timeoutMs ?? 10000 });
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

/**
 * The C4C check goes through the same client the nodes use (session, CSRF fetch, cookies, the
 * redirect / login-page / empty-body rules, certificate logon, language), so a green check means
 * what the nodes will see. A technical user that gets no CSRF token is fine, as for the nodes.
 */
export async function checkC4C(opts: {
  baseUrl: string; servicePath: string; username: string; password: string; timeoutMs?: number;
  auth?: 'basic' | 'certificate'; certificate?: string; privateKey?: string; passphrase?: string; language?: string;
}): Promise<CheckResult> {
  const certificate = opts.auth === 'certificate';
  const secrets = [opts.password, Buffer.from(`${opts.username}:${opts.password}`).toString('base64'), opts.privateKey, opts.passphrase].filter((x): x is string => !!x);
  let base: URL;
  try {
    base = new URL(opts.baseUrl);
  } catch {
    return { ok: false, code: 'BAD_URL', message: 'the Tenant URL is not a URL', hint: 'C4C_UNREACHABLE' };
  }
  if (base.pathname !== '/' && base.pathname !== '') return { ok: false, code: 'SY/530', message: 'the Tenant URL has a path', hint: 'SY/530' };
  if (!certificate && (!opts.username || !opts.password)) return { ok: false, code: 'C4C_401', message: 'no user or password', hint: 'C4C_401' };
  const client = new C4CClient({
    baseUrl: base.origin, servicePath: opts.servicePath, auth: certificate ? 'certificate' : 'basic',
    username: opts.username, password: opts.password, certificate: opts.certificate, privateKey: opts.privateKey, passphrase: opts.passphrase,
    language: opts.language || 'en', timeoutMs: opts.timeoutMs ?? 15000, retry: { retries: 0 }, maxConcurrency: 1,
  });
  try {
    await client.fetchCsrf();
    // As the nodes read it: $metadata?$filter=IndividualCustomer,IndividualCustomerIdentification, the full one if that is not enough.
    const md = await client.metadata(['IndividualCustomerCollection', 'IndividualCustomerIdentificationCollection']);
    if (!md.entitySets.has('IndividualCustomerCollection')) return { ok: false, code: 'NO_ENTITY', message: '$metadata has no IndividualCustomerCollection: is this the c4codataapi service?', hint: 'SY/530' };
    const how = client.stats.fullMetadata ? 'the full $metadata (the tenant did not answer $metadata?$filter= with the entity types)' : '$metadata?$filter=IndividualCustomer,IndividualCustomerIdentification';
    return { ok: true, code: '', message: `service document, session and ${how} read`, ...(client.stats.fullMetadata ? { fullMetadata: true } : {}) };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { ok: false, code: String(e.code ?? 'ERROR'), message: redact(client.redact(e.message ?? String(err)), secrets), hint: hintKeyOf(err) };
  } finally {
    client.close();
  }
}
