/**
 * A simulated WeChat server: it sends what WeChat sends to an Official Account's server URL —
 * signed and, in safe mode, encrypted XML events and messages — waits 5 s per try and retries up
 * to 3 tries with the same timestamp, nonce and MsgId, and checks every reply the way WeChat
 * would (well-formed, addresses swapped, CreateTime in seconds, MsgSignature in safe mode).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { URL } from 'node:url';
import { simCdata as cdata, simDecrypt, simEncrypt, simEqual as safeEqual, simParseXml as parseMessageXml, simSignature } from './wechat-crypto';

/** As on the 公众平台: 明文模式, 兼容模式 (plaintext fields and <Encrypt> side by side), 安全模式. */
export type SandboxMode = 'plain' | 'compatible' | 'safe';
export const SANDBOX_MODES: readonly SandboxMode[] = ['plain', 'compatible', 'safe'];

export interface WeChatServerOptions {
  webhook: string;
  mode: SandboxMode;
  token: string;
  encodingAESKey: string;
  appId: string;
  /** the account's gh_ id */
  ghId: string;
  /** ms per try (WeChat: 5000) */
  timeoutMs?: number;
  /** tries in all (WeChat: 3) */
  tries?: number;
}

export interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface DeliveryReport {
  openid: string;
  kind: string;
  tries: { status: number | string; ms: number }[];
  /** the HTTP status of the try that answered */
  status: number | string;
  /** raw reply body */
  body: string;
  /** the reply message (decrypted), when there was one */
  reply?: Record<string, unknown>;
  /** what the follower sees: text, or a description of the reply */
  shown?: string;
  checks: Check[];
  ok: boolean;
  /** the follower sees WeChat's error text: nobody answered in time */
  failed: boolean;
  /** when the answer (or the last failure) came back (ms since the epoch): where the phone puts it among the pushes */
  at: number;
}

const NO_SERVICE = '该公众号暂时无法提供服务，请稍后再试';

export function newOpenId(): string {
  // A real OpenID is 28 characters: o + 27 of [A-Za-z0-9_-].
  return 'o' + randomBytes(21).toString('base64url').slice(0, 27);
}

function post(url: string, body: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(body), 'User-Agent': 'Mozilla/4.0 (WeChat sandbox)' },
      timeout: timeoutMs,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode || 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

export class SimulatedWeChatServer {
  readonly opts: Required<WeChatServerOptions>;
  private msgId = BigInt(Date.now()) * 1000n;

  constructor(opts: WeChatServerOptions) {
    this.opts = { timeoutMs: 5000, tries: 3, ...opts };
  }

  private xml(fields: Record<string, string>): string {
    const numeric = new Set(['CreateTime', 'MsgId', 'Latitude', 'Longitude', 'Precision', 'Location_X', 'Location_Y', 'Scale']);
    return `<xml>${Object.entries(fields).map(([k, v]) => (numeric.has(k) ? `<${k}>${v}</${k}>` : `<${k}>${cdata(v)}</${k}>`)).join('')}</xml>`;
  }

  event(openid: string, event: string, extra: Record<string, string> = {}): Record<string, string> {
    return { ToUserName: this.opts.ghId, FromUserName: openid, CreateTime: String(Math.floor(Date.now() / 1000)), MsgType: 'event', Event: event, ...extra };
  }

  text(openid: string, content: string): Record<string, string> {
    this.msgId += 1n;
    return { ToUserName: this.opts.ghId, FromUserName: openid, CreateTime: String(Math.floor(Date.now() / 1000)), MsgType: 'text', Content: content, MsgId: this.msgId.toString() };
  }

  /** Any other user message (image, voice, video, shortvideo, location, link), with its own 64-bit MsgId. */
  message(openid: string, type: string, fields: Record<string, string>): Record<string, string> {
    this.msgId += 1n;
    return { ToUserName: this.opts.ghId, FromUserName: openid, CreateTime: String(Math.floor(Date.now() / 1000)), MsgType: type, ...fields, MsgId: this.msgId.toString() };
  }

  /** Build the signed request (query + body) for a message, as WeChat would. */
  sign(fields: Record<string, string>, mode: SandboxMode = this.opts.mode): { query: string; body: string } {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = String(randomInt(100000000, 2147483647));
    const signature = simSignature(this.opts.token, timestamp, nonce);
    const inner = this.xml(fields);
    const params = new URLSearchParams({ signature, timestamp, nonce, openid: fields.FromUserName });
    if (mode === 'plain') return { query: params.toString(), body: inner };
    const encrypt = simEncrypt(this.opts.encodingAESKey, this.opts.appId, inner);
    params.set('encrypt_type', 'aes');
    params.set('msg_signature', simSignature(this.opts.token, timestamp, nonce, encrypt));
    // Compatible mode: the plaintext message and its encrypted copy in one body, signed as safe mode.
    if (mode === 'compatible') return { query: params.toString(), body: inner.replace(/<\/xml>$/, `<Encrypt>${cdata(encrypt)}</Encrypt></xml>`) };
    return { query: params.toString(), body: `<xml><ToUserName>${cdata(this.opts.ghId)}</ToUserName><Encrypt>${cdata(encrypt)}</Encrypt></xml>` };
  }

  /** Send one message to the webhook with WeChat's timeout and retries; check the reply. */
  async deliver(fields: Record<string, string>, kind: string): Promise<DeliveryReport> {
    const { query, body } = this.sign(fields);
    const url = `${this.opts.webhook}${this.opts.webhook.includes('?') ? '&' : '?'}${query}`;
    const tries: DeliveryReport['tries'] = [];
    let answer: { status: number; body: string } | undefined;
    for (let i = 0; i < this.opts.tries; i++) {
      const t0 = Date.now();
      try {
        const res = await post(url, body, this.opts.timeoutMs);
        tries.push({ status: res.status, ms: Date.now() - t0 });
        if (res.status === 200) {
          answer = res;
          break;
        }
      } catch (err) {
        tries.push({ status: (err as { code?: string }).code || 'error', ms: Date.now() - t0 });
      }
    }
    const report: DeliveryReport = { openid: fields.FromUserName, kind, tries, status: tries[tries.length - 1]?.status ?? 'none', body: answer?.body ?? '', checks: [], ok: false, failed: !answer, at: Date.now() };
    if (!answer) {
      report.shown = NO_SERVICE;
      report.checks.push({ name: 'answered within 5 s (3 tries)', ok: false, detail: JSON.stringify(tries) });
      return report;
    }
    report.checks.push({ name: 'answered within 5 s', ok: true, detail: `${tries.length} ${tries.length === 1 ? 'try' : 'tries'}` });
    this.check(report, answer.body, fields);
    report.ok = report.checks.every((c) => c.ok);
    return report;
  }

  private check(report: DeliveryReport, body: string, sent: Record<string, string>): void {
    const checks = report.checks;
    if (body === '' || body === 'success') {
      checks.push({ name: 'nothing to say (success)', ok: true });
      return;
    }
    let xml = body;
    try {
      // 兼容模式: WeChat takes an encrypted or a plaintext reply
      if (this.opts.mode === 'safe' || (this.opts.mode === 'compatible' && body.includes('<Encrypt>'))) {
        const env = parseMessageXml(body);
        const sig = simSignature(this.opts.token, String(env.TimeStamp ?? ''), String(env.Nonce ?? ''), String(env.Encrypt ?? ''));
        const sigOk = typeof env.MsgSignature === 'string' && safeEqual(env.MsgSignature, sig);
        checks.push({ name: 'MsgSignature valid', ok: sigOk });
        if (!sigOk) return;
        xml = simDecrypt(this.opts.encodingAESKey, this.opts.appId, String(env.Encrypt));
        checks.push({ name: 'decrypts, AppID matches', ok: true });
      }
      const reply = parseMessageXml(xml);
      report.reply = reply;
      checks.push({ name: 'well-formed XML', ok: true });
      checks.push({ name: 'ToUserName = the follower', ok: reply.ToUserName === sent.FromUserName, detail: String(reply.ToUserName) });
      checks.push({ name: 'FromUserName = the account', ok: reply.FromUserName === sent.ToUserName, detail: String(reply.FromUserName) });
      const ct = Number(reply.CreateTime);
      checks.push({ name: 'CreateTime in seconds', ok: /^\d{9,10}$/.test(String(reply.CreateTime)) && Math.abs(ct - Date.now() / 1000) < 300, detail: String(reply.CreateTime) });
      const types = ['text', 'image', 'voice', 'video', 'music', 'news', 'transfer_customer_service'];
      checks.push({ name: 'MsgType valid', ok: types.includes(String(reply.MsgType)), detail: String(reply.MsgType) });
      if (reply.MsgType === 'text') report.shown = String(reply.Content ?? '');
      else if (reply.MsgType === 'news') report.shown = `[news] ${JSON.stringify(reply.Articles)}`;
      else report.shown = `[${String(reply.MsgType)}]`;
    } catch (err) {
      checks.push({ name: 'well-formed reply', ok: false, detail: (err as Error).message });
      report.shown = NO_SERVICE;
    }
  }
}
