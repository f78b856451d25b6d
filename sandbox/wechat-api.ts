/**
 * An offline WeChat API: /cgi-bin/token, /cgi-bin/stable_token, /cgi-bin/message/custom/send,
 * /cgi-bin/message/template/send and /cgi-bin/message/subscribe/bizsend with WeChat's errcodes
 * (templates registered through the control API, their data checked by type), token lifetimes, the customer-service
 * window and quota, /cgi-bin/media/get for the media followers sent (a video answers its video_url,
 * an unknown or expired id 40007), and a control API for tests (/__sim/wechat/...). Plain node:http; mount it
 * with `handle(req, res)` (returns false for paths it does not own) or `listen(port)`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { URL } from 'node:url';
import { callerIp, delay, readBody, sendJson } from './http-util';

export interface SimAccount {
  appId: string;
  secret: string;
}

export interface WeChatSimOptions {
  accounts?: SimAccount[];
  /** Token lifetime in seconds (WeChat: 7200). */
  tokenTtl?: number;
  /** Classic mode: how long the previous token stays valid after a new one is issued (WeChat: ~300 s). */
  classicGrace?: number;
  /** Stable mode: a new token is issued only this many seconds before expiry (WeChat: 300). */
  stableRenewBefore?: number;
  /** Follow / menu click / scan: messages allowed, and the window (WeChat: 3 within 60 s). */
  followQuota?: number;
  followWindow?: number;
  /** After a user message: messages allowed, and the window (WeChat: 5 within 48 h). */
  messageQuota?: number;
  messageWindow?: number;
  /** force_refresh limits (WeChat: 20 a day, 30 s apart). */
  forceRefreshPerDay?: number;
  forceRefreshInterval?: number;
  /** Callers allowed (IP whitelist); empty = everyone. */
  ipWhitelist?: string[];
  /** Follower OpenIDs accepted even without a recorded interaction (for benchmarks). */
  openWindow?: boolean;
  /** Templates known from the start (more through POST /__sim/wechat/templates). */
  templates?: SimTemplate[];
}

/** A template of the account (我的模板): a template message or a subscription notice. */
export interface SimTemplate {
  id: string;
  /** default: the first account */
  appId?: string;
  /** default 'template' */
  kind?: 'template' | 'subscribe';
  /** subscribe: the OpenIDs that accepted it; absent = everyone accepted */
  acceptedBy?: string[];
}

interface IssuedToken {
  appId: string;
  kind: 'classic' | 'stable';
  expiresAt: number;
  /** classic: when a newer token made this one die early */
  diesAt: number;
  revoked: boolean;
}

interface Follower {
  openid: string;
  appId: string;
  subscribed: boolean;
  /** the current customer-service window */
  windowKind: 'follow' | 'message' | 'none';
  windowStart: number;
  used: number;
}

export interface DeliveredMessage {
  at: number;
  appId: string;
  api: 'custom' | 'template' | 'subscribe';
  touser: string;
  msgtype: string;
  body: Record<string, unknown>;
  msgid?: string;
}

export interface Faults {
  /** ms added to every API answer */
  latencyMs: number;
  /** the next N API calls answer -1 system busy */
  busy: number;
  /** until this time (ms), every API call fails: the socket is destroyed */
  outageUntil: number;
}

export interface SimMedia {
  appId: string;
  bytes: Buffer;
  mimeType: string;
  name: string;
  kind: 'image' | 'voice' | 'video';
  /** ms since the epoch (WeChat keeps temporary media 3 days) */
  expiresAt: number;
}

export class WeChatApiSimulator {
  readonly opts: Required<WeChatSimOptions>;
  private readonly initial: Required<WeChatSimOptions>;
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly latestClassic = new Map<string, string>();
  private readonly latestStable = new Map<string, string>();
  private readonly forceLog = new Map<string, number[]>();
  readonly followers = new Map<string, Follower>();
  readonly messages: DeliveredMessage[] = [];
  readonly faults: Faults = { latencyMs: 0, busy: 0, outageUntil: 0 };
  counters = WeChatApiSimulator.zero();
  private msgidSeq = 0n;
  readonly templates = new Map<string, Required<Omit<SimTemplate, 'acceptedBy'>> & { acceptedBy?: string[] }>();
  private server: Server | undefined;
  /** Temporary media followers sent (image, voice, video): what /cgi-bin/media/get serves. */
  readonly media = new Map<string, SimMedia>();
  /** Listeners told of every delivered message (the sandbox page shows them). */
  readonly onDelivered = new Set<(m: DeliveredMessage) => void>();
  /** One line per API call (the sandbox page's event log). */
  readonly onLog = new Set<(line: string) => void>();

  private log(line: string): void {
    for (const l of this.onLog) l(line);
  }

  static zero() {
    return { tokenRequests: 0, stableTokenRequests: 0, forceRefreshes: 0, sendCalls: 0, templateCalls: 0, subscribeCalls: 0, mediaGets: 0, delivered: 0, errors: {} as Record<string, number> };
  }

  constructor(opts: WeChatSimOptions = {}) {
    this.opts = {
      accounts: opts.accounts ?? [{ appId: 'wx5ba5fad812f8e6fb', secret: 'sandbox-app-secret' }],
      tokenTtl: opts.tokenTtl ?? 7200,
      classicGrace: opts.classicGrace ?? 300,
      stableRenewBefore: opts.stableRenewBefore ?? 300,
      followQuota: opts.followQuota ?? 3,
      followWindow: opts.followWindow ?? 60,
      messageQuota: opts.messageQuota ?? 5,
      messageWindow: opts.messageWindow ?? 48 * 3600,
      forceRefreshPerDay: opts.forceRefreshPerDay ?? 20,
      forceRefreshInterval: opts.forceRefreshInterval ?? 30,
      ipWhitelist: opts.ipWhitelist ?? [],
      openWindow: opts.openWindow ?? false,
      templates: opts.templates ?? [],
    };
    this.initial = { ...this.opts, accounts: [...this.opts.accounts], ipWhitelist: [...this.opts.ipWhitelist], templates: [...this.opts.templates] };
    for (const t of this.opts.templates) this.registerTemplate(t);
  }

  /** Add a template to an account (what 模板消息 → 从模板库中添加 / 订阅通知 → 选用 does). */
  registerTemplate(t: SimTemplate): void {
    const appId = t.appId ?? this.opts.accounts[0].appId;
    this.templates.set(`${appId}/${t.id}`, { id: String(t.id), appId, kind: t.kind === 'subscribe' ? 'subscribe' : 'template', acceptedBy: t.acceptedBy?.map(String) });
  }

  // ---- follower interactions (what the simulated WeChat server reports) ---------------------

  /** Record what a follower did: `subscribe`, `unsubscribe`, `message` (a text etc.), `click`, `scan`. */
  interact(appId: string, openid: string, what: 'subscribe' | 'unsubscribe' | 'message' | 'click' | 'scan', now = Date.now()): Follower {
    const key = `${appId}/${openid}`;
    let f = this.followers.get(key);
    if (!f) {
      f = { openid, appId, subscribed: false, windowKind: 'none', windowStart: 0, used: 0 };
      this.followers.set(key, f);
    }
    if (what === 'unsubscribe') {
      f.subscribed = false;
      f.windowKind = 'none';
      return f;
    }
    f.subscribed = true;
    f.windowKind = what === 'message' ? 'message' : 'follow';
    f.windowStart = now;
    f.used = 0;
    return f;
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  /** Handle a request if it is ours; returns false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url || '/', 'http://sim');
    if (url.pathname.startsWith('/__sim/wechat/')) {
      void this.control(req, res, url).catch((err: Error) => sendJson(res, 500, { error: err.message }));
      return true;
    }
    if (!url.pathname.startsWith('/cgi-bin/')) return false;
    void this.api(req, res, url).catch((err: Error) => {
      if (!res.headersSent) sendJson(res, 500, { errcode: -1, errmsg: `simulator error: ${err.message}` });
    });
    return true;
  }

  listen(port: number, host = '127.0.0.1'): Promise<Server> {
    this.server = createServer((req, res) => {
      if (!this.handle(req, res)) sendJson(res, 404, { errcode: 404, errmsg: 'not found' });
    });
    return new Promise((resolve) => this.server!.listen(port, host, () => resolve(this.server!)));
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private count(errcode: number): void {
    this.counters.errors[errcode] = (this.counters.errors[errcode] || 0) + 1;
    this.log(`WeChat API errcode ${errcode}`);
  }

  private fail(res: ServerResponse, errcode: number, errmsg: string): void {
    this.count(errcode);
    sendJson(res, 200, { errcode, errmsg: `${errmsg} rid: ${randomBytes(6).toString('hex')}` });
  }

  private async api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (this.faults.outageUntil > Date.now()) {
      req.socket.destroy();
      return;
    }
    if (this.faults.latencyMs > 0) await delay(this.faults.latencyMs);
    const ip = callerIp(req);
    if (this.opts.ipWhitelist.length && !this.opts.ipWhitelist.includes(ip)) {
      this.fail(res, 40164, `invalid ip ${ip} ipv6 ::ffff:${ip}, not in whitelist`);
      return;
    }
    if (this.faults.busy > 0) {
      this.faults.busy--;
      this.fail(res, -1, 'system error');
      return;
    }
    const body = req.method === 'POST' ? await readBody(req) : '';
    switch (url.pathname) {
      case '/cgi-bin/token':
        return this.classicToken(res, url);
      case '/cgi-bin/stable_token':
        return this.stableToken(res, body);
      case '/cgi-bin/message/custom/send':
        return this.customSend(res, url, body);
      case '/cgi-bin/message/template/send':
        return this.templateSend(res, url, body, 'template');
      case '/cgi-bin/message/subscribe/bizsend':
        return this.templateSend(res, url, body, 'subscribe');
      case '/cgi-bin/media/get':
        return this.mediaGet(req, res, url);
      default:
        this.fail(res, 48001, 'api unauthorized');
    }
  }

  private account(appId: unknown): SimAccount | undefined {
    return this.opts.accounts.find((a) => a.appId === appId);
  }

  private issue(appId: string, kind: 'classic' | 'stable', now: number): string {
    const token = `${kind === 'stable' ? 'S' : 'C'}_${randomBytes(48).toString('base64url')}`;
    const expiresAt = now + this.opts.tokenTtl * 1000;
    this.tokens.set(token, { appId, kind, expiresAt, diesAt: expiresAt, revoked: false });
    return token;
  }

  private classicToken(res: ServerResponse, url: URL): void {
    this.counters.tokenRequests++;
    const appid = url.searchParams.get('appid');
    if (url.searchParams.get('grant_type') !== 'client_credential') return this.fail(res, 40002, 'invalid grant_type');
    const acc = this.account(appid);
    if (!acc) return this.fail(res, 40013, 'invalid appid');
    if (url.searchParams.get('secret') !== acc.secret) return this.fail(res, 40125, 'invalid appsecret');
    const now = Date.now();
    // A new classic token: the previous one lives `classicGrace` seconds more.
    const previous = this.latestClassic.get(acc.appId);
    if (previous) {
      const t = this.tokens.get(previous);
      if (t) t.diesAt = Math.min(t.diesAt, now + this.opts.classicGrace * 1000);
    }
    const token = this.issue(acc.appId, 'classic', now);
    this.latestClassic.set(acc.appId, token);
    this.log('WeChat API: new access token (classic)');
    sendJson(res, 200, { access_token: token, expires_in: this.opts.tokenTtl });
  }

  private stableToken(res: ServerResponse, raw: string): void {
    this.counters.stableTokenRequests++;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw || '{}');
    } catch {
      return this.fail(res, 47001, 'data format error');
    }
    if (body.grant_type !== 'client_credential') return this.fail(res, 40002, 'invalid grant_type');
    const acc = this.account(body.appid);
    if (!acc) return this.fail(res, 40013, 'invalid appid');
    if (body.secret !== acc.secret) return this.fail(res, 40125, 'invalid appsecret');
    const now = Date.now();
    const currentId = this.latestStable.get(acc.appId);
    const current = currentId ? this.tokens.get(currentId) : undefined;
    if (body.force_refresh === true) {
      const log = (this.forceLog.get(acc.appId) ?? []).filter((t) => t > now - 86400000);
      if (log.length >= this.opts.forceRefreshPerDay) return this.fail(res, 45009, 'reach max api daily quota limit');
      if (log.length && now - log[log.length - 1] < this.opts.forceRefreshInterval * 1000) return this.fail(res, 45011, 'api minute-quota reach limit mustslower retry next minute');
      log.push(now);
      this.forceLog.set(acc.appId, log);
      this.counters.forceRefreshes++;
      // force_refresh: a new token now; the old one stops working after the grace period.
      if (current) current.diesAt = Math.min(current.diesAt, now + this.opts.classicGrace * 1000);
    } else if (current && !current.revoked && current.expiresAt - now > this.opts.stableRenewBefore * 1000) {
      // Same token until `stableRenewBefore` seconds before its expiry.
      sendJson(res, 200, { access_token: currentId, expires_in: Math.floor((current.expiresAt - now) / 1000) });
      return;
    }
    const token = this.issue(acc.appId, 'stable', now);
    this.latestStable.set(acc.appId, token);
    this.log(`WeChat API: new access token (stable${body.force_refresh === true ? ', forced' : ''})`);
    sendJson(res, 200, { access_token: token, expires_in: this.opts.tokenTtl });
  }

  /** Validate an access_token: 41001 missing, 40001 unknown/revoked/superseded, 42001 expired. */
  private checkToken(res: ServerResponse, url: URL): IssuedToken | undefined {
    const token = url.searchParams.get('access_token');
    if (!token) {
      this.fail(res, 41001, 'access_token missing');
      return undefined;
    }
    const t = this.tokens.get(token);
    const now = Date.now();
    if (!t || t.revoked || t.diesAt <= now && t.diesAt < t.expiresAt) {
      this.fail(res, 40001, 'invalid credential, access_token is invalid or not latest');
      return undefined;
    }
    if (t.expiresAt <= now) {
      this.fail(res, 42001, 'access_token expired');
      return undefined;
    }
    return t;
  }

  private parse(res: ServerResponse, raw: string): Record<string, unknown> | undefined {
    try {
      const body = JSON.parse(raw);
      if (body && typeof body === 'object' && !Array.isArray(body)) return body;
    } catch {
      /* fall through */
    }
    this.fail(res, 47001, 'data format error');
    return undefined;
  }

  private customSend(res: ServerResponse, url: URL, raw: string): void {
    this.counters.sendCalls++;
    const token = this.checkToken(res, url);
    if (!token) return;
    const body = this.parse(res, raw);
    if (!body) return;
    const touser = String(body.touser ?? '');
    const msgtype = String(body.msgtype ?? '');
    const follower = this.followers.get(`${token.appId}/${touser}`);
    if (!touser || (!follower && !this.opts.openWindow)) return this.fail(res, 40003, 'invalid openid');
    const kinds: Record<string, (b: Record<string, any>) => boolean> = {
      text: (b) => typeof b.text?.content === 'string' && b.text.content.length > 0,
      image: (b) => !!b.image?.media_id,
      voice: (b) => !!b.voice?.media_id,
      video: (b) => !!b.video?.media_id,
      music: (b) => !!b.music?.thumb_media_id,
      news: (b) => Array.isArray(b.news?.articles) && b.news.articles.length === 1,
      mpnews: (b) => !!b.mpnews?.media_id,
      mpnewsarticle: (b) => !!b.mpnewsarticle?.article_id,
      msgmenu: (b) => Array.isArray(b.msgmenu?.list),
      miniprogrampage: (b) => !!b.miniprogrampage?.pagepath,
    };
    if (!kinds[msgtype]) return this.fail(res, 40008, 'invalid message type');
    if (!kinds[msgtype](body)) return this.fail(res, msgtype === 'text' ? 44004 : 44003, msgtype === 'text' ? 'empty content' : 'empty news data');
    if (follower) {
      // A follower who unsubscribed: WeChat's 45015 "response out of time limit or subscription is canceled".
      if (!follower.subscribed) return this.fail(res, 45015, 'response out of time limit or subscription is canceled');
      const now = Date.now();
      const [quota, windowS] = follower.windowKind === 'follow' ? [this.opts.followQuota, this.opts.followWindow] : [this.opts.messageQuota, this.opts.messageWindow];
      if (follower.windowKind === 'none' || now - follower.windowStart > windowS * 1000) {
        if (!this.opts.openWindow) return this.fail(res, 45015, 'response out of time limit or subscription is canceled');
      } else if (follower.used >= quota && !this.opts.openWindow) {
        return this.fail(res, 45047, 'out of response count limit');
      }
      follower.used++;
    }
    this.deliver({ at: Date.now(), appId: token.appId, api: 'custom', touser, msgtype, body });
    sendJson(res, 200, { errcode: 0, errmsg: 'ok' });
  }

  /** Template message or subscription notice: follower, template, then every data value by its type. */
  private templateSend(res: ServerResponse, url: URL, raw: string, kind: 'template' | 'subscribe'): void {
    if (kind === 'template') this.counters.templateCalls++;
    else this.counters.subscribeCalls++;
    const token = this.checkToken(res, url);
    if (!token) return;
    const body = this.parse(res, raw);
    if (!body) return;
    const touser = String(body.touser ?? '');
    const follower = this.followers.get(`${token.appId}/${touser}`);
    if (!touser || (!follower && !this.opts.openWindow)) return this.fail(res, 40003, 'invalid openid');
    // Template messages and notices need a follower: 43004 "require subscribe".
    if (follower && !follower.subscribed) return this.fail(res, 43004, 'require subscribe');
    const tpl = typeof body.template_id === 'string' ? this.templates.get(`${token.appId}/${body.template_id}`) : undefined;
    if (!tpl || tpl.kind !== kind) return this.fail(res, 40037, 'invalid template_id');
    if (!body.data || typeof body.data !== 'object' || Array.isArray(body.data)) return this.fail(res, 47003, 'argument invalid! data invalid');
    for (const [key, field] of Object.entries(body.data as Record<string, unknown>)) {
      const value = field && typeof field === 'object' ? (field as Record<string, unknown>).value : undefined;
      if (typeof value !== 'string' || !simValueOk(key, value, kind)) return this.fail(res, 47003, `argument invalid! data.${key}.value invalid`);
    }
    if (kind === 'subscribe' && tpl.acceptedBy && !tpl.acceptedBy.includes(touser)) return this.fail(res, 43101, 'user refuse to accept the msg');
    if (kind === 'subscribe') {
      this.deliver({ at: Date.now(), appId: token.appId, api: 'subscribe', touser, msgtype: 'subscribe', body });
      sendJson(res, 200, { errcode: 0, errmsg: 'ok' });
      return;
    }
    // A 64-bit msgid beyond 2^53, written as a bare number as WeChat does.
    const msgid = (2n ** 62n + ++this.msgidSeq).toString();
    this.deliver({ at: Date.now(), appId: token.appId, api: 'template', touser, msgtype: 'template', body, msgid });
    const text = `{"errcode":0,"errmsg":"ok","msgid":${msgid}}`;
    sendJson(res, 200, text);
  }

  private deliver(m: DeliveredMessage): void {
    this.counters.delivered++;
    this.log(`WeChat API: ${m.api === 'template' ? 'template message' : m.api === 'subscribe' ? 'subscription notice' : 'customer-service message'} to ${m.touser}`);
    this.messages.push(m);
    if (this.messages.length > 100000) this.messages.splice(0, this.messages.length - 100000);
    for (const l of this.onDelivered) l(m);
  }

  // ---- control API --------------------------------------------------------------------------

  /** Invalidate every token (or those of one account) at once. */
  revokeTokens(appId?: string): number {
    let n = 0;
    for (const t of this.tokens.values()) {
      if (!appId || t.appId === appId) {
        if (!t.revoked) n++;
        t.revoked = true;
      }
    }
    return n;
  }

  /** Keep a media file a follower sent; returns its MediaId (64 characters, as WeChat's). */
  addMedia(appId: string, kind: SimMedia['kind'], bytes: Buffer, mimeType: string, name: string, ttlMs = 3 * 24 * 3600 * 1000): string {
    const id = randomBytes(48).toString('base64url');
    this.media.set(id, { appId, bytes, mimeType, name, kind, expiresAt: Date.now() + ttlMs });
    return id;
  }

  /** Make media expire now (what 3 days do): media/get answers 40007. */
  expireMedia(mediaId?: string): number {
    let n = 0;
    for (const [id, m] of this.media) if (!mediaId || id === mediaId) { m.expiresAt = 0; n++; }
    return n;
  }

  private mediaGet(req: IncomingMessage, res: ServerResponse, url: URL): void {
    this.counters.mediaGets++;
    const token = this.checkToken(res, url);
    if (!token) return;
    const m = this.media.get(url.searchParams.get('media_id') ?? '');
    if (!m || m.appId !== token.appId || m.expiresAt <= Date.now()) return this.fail(res, 40007, 'invalid media_id');
    if (m.kind === 'video') {
      // A video is not served here: WeChat answers a download URL.
      return sendJson(res, 200, { video_url: `http://${req.headers.host || '127.0.0.1'}/__sim/wechat/media-file/${encodeURIComponent(String(url.searchParams.get('media_id')))}` });
    }
    this.serveMedia(res, m);
  }

  private serveMedia(res: ServerResponse, m: SimMedia): void {
    res.writeHead(200, { 'Content-Type': m.mimeType, 'Content-Length': m.bytes.length, 'Content-Disposition': `attachment; filename="${m.name}"` });
    res.end(m.bytes);
  }

  /** Back to the state after construction: settings, tokens, followers, faults, counters. */
  reset(): void {
    Object.assign(this.opts, this.initial, { accounts: [...this.initial.accounts], ipWhitelist: [...this.initial.ipWhitelist], templates: [...this.initial.templates] });
    this.tokens.clear();
    this.latestClassic.clear();
    this.latestStable.clear();
    this.forceLog.clear();
    this.followers.clear();
    this.templates.clear();
    for (const t of this.initial.templates) this.registerTemplate(t);
    this.messages.length = 0;
    this.media.clear();
    this.faults.latencyMs = 0;
    this.faults.busy = 0;
    this.faults.outageUntil = 0;
    this.counters = WeChatApiSimulator.zero();
  }

  stats() {
    return { ...this.counters, followers: this.followers.size, tokensIssued: this.tokens.size };
  }

  private async control(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const what = url.pathname.slice('/__sim/wechat/'.length);
    if (req.method === 'GET' && what.startsWith('media-file/')) {
      // a video's download URL (what media/get answered with video_url)
      const m = this.media.get(decodeURIComponent(what.slice('media-file/'.length)));
      if (!m || m.expiresAt <= Date.now()) return sendJson(res, 404, { errcode: 40007, errmsg: 'invalid media_id' });
      return this.serveMedia(res, m);
    }
    const body = req.method === 'POST' ? JSON.parse((await readBody(req)) || '{}') : {};
    switch (`${req.method} ${what}`) {
      case 'GET stats':
        return sendJson(res, 200, this.stats());
      case 'GET messages': {
        const to = url.searchParams.get('touser');
        return sendJson(res, 200, to ? this.messages.filter((m) => m.touser === to) : this.messages);
      }
      case 'POST interact': {
        const f = this.interact(String(body.appId ?? this.opts.accounts[0].appId), String(body.openid), body.what ?? 'subscribe');
        return sendJson(res, 200, f);
      }
      case 'POST media':
        // {kind, base64, mimeType, name, ttlMs} → {mediaId}; {expire: mediaId | true} makes media expire
        if (body.expire !== undefined) return sendJson(res, 200, { expired: this.expireMedia(body.expire === true ? undefined : String(body.expire)) });
        return sendJson(res, 200, { mediaId: this.addMedia(String(body.appId ?? this.opts.accounts[0].appId), body.kind ?? 'image', Buffer.from(String(body.base64 ?? ''), 'base64'), String(body.mimeType ?? 'image/jpeg'), String(body.name ?? 'media.jpg'), body.ttlMs === undefined ? undefined : Number(body.ttlMs)) });
      case 'GET templates':
        return sendJson(res, 200, [...this.templates.values()]);
      case 'POST templates': {
        const list = Array.isArray(body) ? body : [body];
        for (const t of list) {
          if (!t || typeof t.id !== 'string' || !t.id) return sendJson(res, 400, { error: 'a template needs an id' });
          this.registerTemplate(t);
        }
        return sendJson(res, 200, [...this.templates.values()]);
      }
      case 'POST revoke':
        return sendJson(res, 200, { revoked: this.revokeTokens(body.appId) });
      case 'POST faults':
        if (body.latencyMs !== undefined) this.faults.latencyMs = Number(body.latencyMs);
        if (body.busy !== undefined) this.faults.busy = Number(body.busy);
        if (body.outageMs !== undefined) this.faults.outageUntil = Date.now() + Number(body.outageMs);
        return sendJson(res, 200, this.faults);
      case 'POST config':
        for (const k of ['tokenTtl', 'classicGrace', 'stableRenewBefore', 'followQuota', 'followWindow', 'messageQuota', 'messageWindow', 'forceRefreshPerDay', 'forceRefreshInterval'] as const) {
          if (body[k] !== undefined) (this.opts as Record<string, unknown>)[k] = Number(body[k]);
        }
        if (Array.isArray(body.ipWhitelist)) this.opts.ipWhitelist = body.ipWhitelist.map(String);
        if (body.openWindow !== undefined) this.opts.openWindow = !!body.openWindow;
        return sendJson(res, 200, this.opts);
      case 'POST reset':
        this.reset();
        return sendJson(res, 200, { ok: true });
      default:
        return sendJson(res, 404, { error: `unknown control ${req.method} ${what}` });
    }
  }
}

/**
 * The simulator's own reading of WeChat's value rules per key type (类目模板消息 参数值内容限制说明),
 * independent of lib/: the type is the key without its trailing digits.
 */
export function simValueOk(key: string, value: string, kind: 'template' | 'subscribe'): boolean {
  const chars = [...value];
  const n = chars.length;
  if (n === 0) return false;
  const han = (c: string) => /\p{Script=Han}/u.test(c);
  const digit = (c: string) => c >= '0' && c <= '9';
  const letter = (c: string) => /^[A-Za-z]$/.test(c);
  const type = key.replace(/[0-9]+$/, '');
  switch (type) {
    case 'thing':
    case 'const':
      return n <= 20;
    case 'number':
      return n <= 32 && /^[+-]?[0-9]+(\.[0-9]+)?$/.test(value);
    case 'letter':
      return n <= 32 && chars.every(letter);
    case 'symbol':
      return n <= 5 && chars.every((c) => !digit(c) && !letter(c) && !han(c) && !/\s/.test(c) && !/\p{L}/u.test(c));
    case 'character_string':
      return n <= 32 && chars.every((c) => !han(c) && !/\s/.test(c));
    case 'time':
    case 'date':
      return chars.some(digit) && chars.every((c) => digit(c) || '年月日时分秒点:：-/. ~～T'.includes(c));
    case 'amount': {
      let rest = value.endsWith('元') ? value.slice(0, -1) : value;
      if (rest && !digit(rest[0])) rest = rest.slice(1);
      const [whole, frac, more] = rest.split('.');
      return more === undefined && !!whole && [...whole].every(digit) && whole.length <= (kind === 'template' ? 12 : 10) && (frac === undefined || (frac.length > 0 && [...frac].every(digit)));
    }
    case 'phone_number':
      return n <= 17 && chars.every((c) => digit(c) || '+-()（） '.includes(c));
    case 'car_number':
      return n <= 8 && chars.every((c, i) => digit(c) || letter(c) || ((i === 0 || i === n - 1) && han(c)));
    case 'name':
      return chars.some(han) ? n <= 10 : n <= 20;
    case 'phrase':
      return n <= 5 && chars.every(han);
    default:
      return n <= 20;
  }
}
