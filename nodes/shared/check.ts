/**
 * Admin endpoints behind the config dialogs' "Test connection" buttons, protected like the
 * nodes themselves (`<type>.write`):
 *   POST /wechat-c4c/check/wechat  {id, appId, apiBase, tokenMode, appSecret, lang}
 *   POST /wechat-c4c/check/c4c     {id, baseUrl, servicePath, username, password, lang}
 * → {ok, code, message, hint} in the editor's language. A password field left as the editor shows
 * it (`__PWRD__` or empty while the node has one) means the credential stored for that node id.
 * `${VAR}` values are read from the runtime's environment.
 */
import { checkC4C, checkWeChat, type CheckResult } from '../../lib/check';
import { HINT_CATALOG } from '../../lib/hints';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENV_REF } from './config';
import type { NodeRED } from './types';

/**
 * The runtime loads only its own language; the editor's may differ. The endpoints read the
 * config nodes' catalogs themselves (dist/nodes/<type>/locales/<lang>/<type>.json).
 */
const catalogs = new Map<string, Record<string, unknown>>();
function catalog(type: string, lang: string): Record<string, unknown> {
  const key = `${type}/${lang}`;
  if (!catalogs.has(key)) {
    let data: Record<string, unknown> = {};
    try {
      data = JSON.parse(fs.readFileSync(path.join(__dirname, '..', type, 'locales', lang, `${type}.json`), 'utf8'));
    } catch { /* no such language: en-US is used */ }
    catalogs.set(key, data);
  }
  return catalogs.get(key)!;
}
export function translate(key: string, lang: string, subs: Record<string, unknown> = {}): string {
  const type = key.split('.')[0];
  const langs = /^zh/i.test(lang) ? ['zh-CN', 'en-US'] : ['en-US'];
  for (const l of langs) {
    const v = key.split('.').reduce<unknown>((o, p) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[p] : undefined), catalog(type, l));
    if (typeof v === 'string') return v.replace(/__(\w+)__/g, (_m, n: string) => String(subs[n] ?? ''));
  }
  return key;
}

let registered = false;

function envValue(v: unknown): string {
  const text = v === undefined || v === null ? '' : String(v).trim();
  const m = ENV_REF.exec(text);
  return m ? process.env[m[1]] ?? '' : text;
}

const isEnvRef = (v: unknown): boolean => ENV_REF.test(v === undefined || v === null ? '' : String(v).trim());

/** The origin (scheme://host:port) of a URL, '' when it is not one. */
function originOf(url: string): string {
  try { return new URL(url).origin; } catch { return ''; }
}

/**
 * The values a check may send, as the dialog gave them. `${VAR}` is the server's environment, not
 * the dialog's: in ANY field that travels to the host (a secret, the AppID, the service path, the
 * language that becomes a header, the user) it is expanded only when the check goes to the host
 * the node is deployed with, or to an address itself given as `${VAR}` (`targetIsEnv`) — never
 * towards an address typed into the dialog (`otherHost` is set instead, and nothing is sent).
 * `__PWRD__` (a password field left untouched) means the deployed node's stored secret, under the
 * same rule.
 */
function fields(RED: NodeRED, id: unknown, target: string, deployedUrl: (node: any) => string | undefined, targetIsEnv: boolean) {
  const node = typeof id === 'string' && id ? (RED.nodes as any).getNode?.(id) : undefined;
  const stored = typeof id === 'string' && id ? (RED.nodes as any).getCredentials?.(id) : undefined;
  const trusted = targetIsEnv || (!!node && originOf(envValue(deployedUrl(node) ?? '')) === originOf(target));
  const state = { otherHost: false };
  /** A text field: typed text as it is; `${VAR}` only towards a trusted host. */
  const text = (given: unknown): string => {
    const v = given === undefined || given === null ? '' : String(given);
    if (isEnvRef(v) && !trusted) { state.otherHost = true; return ''; }
    return envValue(v);
  };
  /** A secret: as `text`, and `__PWRD__` is the stored one (only towards a trusted host). */
  const secret = (name: string, given: unknown): string => {
    if (given !== '__PWRD__') return text(given);
    if (!stored || !stored[name]) return '';
    if (!trusted) { state.otherHost = true; return ''; }
    return envValue(stored[name]);
  };
  return { text, secret, state };
}

export function registerChecks(RED: NodeRED): void {
  if (registered || !(RED as any).httpAdmin) return;
  registered = true;
  const R = RED as any;
  const t = translate;
  /**
   * The answer in the editor's language. The detail `lib/check.ts` gives is English (ours, or the
   * service's own errmsg): an English editor gets it; any other gets the code and the translated
   * hint only (or a translated "see the log"), and the English detail goes to the runtime's log.
   */
  const answer = (res: any, type: 'wechat-config' | 'c4c-config', lng: string, r: CheckResult): void => {
    const key = `${HINT_CATALOG}.hints.${r.hint}`;
    let hint = r.hint && t(key, lng, r.hintVars) !== key ? t(key, lng, r.hintVars) : '';
    const english = !/^zh/i.test(lng);
    let message: string;
    if (r.ok) message = t(`${type}.check.${r.fullMetadata ? 'ok-full-metadata' : 'ok'}`, lng, { expires: r.expiresIn ?? '' });
    else if (english) message = t(`${type}.check.failed`, lng, { message: r.message });
    else {
      message = t(`${type}.check.failed-code`, lng, { code: r.code });
      if (!hint) hint = t(`${type}.check.see-log`, lng);
      R.log?.info?.(`${type} Test connection: ${r.message}`);
    }
    res.json({ ok: r.ok, code: r.code, message, hint });
  };
  const lang = (req: any): string => String((req.body && req.body.lang) || req.headers['accept-language'] || 'en-US').split(',')[0];
  R.httpAdmin.post('/wechat-c4c/check/wechat', R.auth.needsPermission('wechat-config.write'), async (req: any, res: any) => {
    const b = req.body || {};
    const lng = lang(req);
    try {
      const apiBase = envValue(b.apiBase) || 'https://api.weixin.qq.com';
      // no API base given: WeChat's own address
      const f = fields(RED, b.id, apiBase, (n) => n.apiBase, !b.apiBase || isEnvRef(b.apiBase));
      const secret = f.secret('appSecret', b.appSecret);
      const appId = f.text(b.appId);
      if (f.state.otherHost) {
        res.json({ ok: false, code: 'STORED_SECRET_OTHER_HOST', message: t('wechat-config.check.other-host', lng), hint: '' });
        return;
      }
      const r = await checkWeChat({ apiBase, appId, secret, mode: b.tokenMode === 'classic' ? 'classic' : 'stable' });
      answer(res, 'wechat-config', lng, r);
    } catch (err) {
      R.log?.warn?.(`wechat-config Test connection: ${(err as Error).message}`);
      res.status(500).json({ ok: false, code: 'ERROR', message: /^zh/i.test(lng) ? t('wechat-config.check.error-logged', lng) : t('wechat-config.check.error', lng, { message: (err as Error).message }), hint: '' });
    }
  });
  R.httpAdmin.post('/wechat-c4c/check/c4c', R.auth.needsPermission('c4c-config.write'), async (req: any, res: any) => {
    const b = req.body || {};
    const lng = lang(req);
    try {
      const baseUrl = envValue(b.baseUrl);
      const f = fields(RED, b.id, baseUrl, (n) => n.baseUrl, isEnvRef(b.baseUrl));
      const input = {
        baseUrl,
        servicePath: f.text(b.servicePath),
        username: f.secret('username', b.username),
        password: f.secret('password', b.password),
        auth: (b.auth === 'certificate' ? 'certificate' : 'basic') as 'certificate' | 'basic',
        certificate: f.secret('certificate', b.certificate),
        privateKey: f.secret('privateKey', b.privateKey),
        passphrase: f.secret('passphrase', b.passphrase),
        language: f.text(b.language),
      };
      if (f.state.otherHost) {
        res.json({ ok: false, code: 'STORED_SECRET_OTHER_HOST', message: t('c4c-config.check.other-host', lng), hint: '' });
        return;
      }
      const r = await checkC4C(input);
      answer(res, 'c4c-config', lng, r);
    } catch (err) {
      R.log?.warn?.(`c4c-config Test connection: ${(err as Error).message}`);
      res.status(500).json({ ok: false, code: 'ERROR', message: /^zh/i.test(lng) ? t('c4c-config.check.error-logged', lng) : t('c4c-config.check.error', lng, { message: (err as Error).message }), hint: '' });
    }
  });
}
