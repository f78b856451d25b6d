/**
 * The sandbox: one HTTP server (default 127.0.0.1:1881) with the WeChat API simulator, the C4C
 * OData simulator, a simulated WeChat server that calls the webhook, and a page where a person
 * taps Follow and watches the reply, the C4C customer and the push arrive.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { URL } from 'node:url';
import { C4CSimulator } from './c4c';
import type { EventShape } from './c4c-events';
import { readBody, sendJson, sendText } from './http-util';
import { WeChatApiSimulator } from './wechat-api';
import { newOpenId, SANDBOX_MODES, SimulatedWeChatServer, type SandboxMode } from './wechat-server';

export interface SandboxOptions {
  port?: number;
  host?: string;
  /** the Node-RED webhook WeChat calls (default http://127.0.0.1:1880/wechat) */
  webhook?: string;
  mode?: SandboxMode;
  appId?: string;
  appSecret?: string;
  ghId?: string;
  token?: string;
  encodingAESKey?: string;
  c4cUser?: string;
  c4cPassword?: string;
  /** C4C extension fields added to IndividualCustomer (--extension-field, repeatable) */
  extensionFields?: string[];
  /** WeChat's per-try timeout (ms) */
  timeoutMs?: number;
  /** where the C4C simulator posts change events (default: /c4c/events beside the webhook; '' = none) */
  eventEndpoint?: string;
  /** the Basic credentials it sends with them (c4c-event-in's event user / password) */
  eventUser?: string;
  eventPassword?: string;
  /** event | cloudevents | feed (default event) */
  eventShape?: EventShape;
}

/** The sandbox's account and tenant. Not secrets: they only open doors on this sandbox. */
export const SANDBOX_DEFAULTS = {
  port: 1881,
  host: '127.0.0.1',
  webhook: 'http://127.0.0.1:1880/wechat',
  mode: 'safe' as SandboxMode,
  appId: 'wx5ba5fad812f8e6fb',
  appSecret: 'sandbox-app-secret',
  ghId: 'gh_5ba5fad812f8',
  token: 'sandboxtoken',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  c4cUser: 'SANDBOX_USER',
  c4cPassword: 'sandbox-password',
  eventUser: 'C4C_EVENTS',
  eventPassword: 'sandbox-event-password',
  eventShape: 'event' as EventShape,
};

/** /c4c/events on the webhook's host: where the bundled flow takes C4C's change events. */
function eventsBeside(webhook: string): string {
  try {
    return new URL('/c4c/events', webhook).toString();
  } catch {
    return '';
  }
}

export interface SandboxEvent {
  type: 'delivery' | 'push' | 'customer' | 'customer-updated' | 'log' | 'mode' | 'event-shape' | 'conversation';
  at: number;
  [key: string]: unknown;
}

/** Media a follower sends when the page gives none: a 1×1 PNG, a few AMR bytes, an MP4 header. */
const SAMPLE_MEDIA = {
  image: Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64'),
  voice: Buffer.from('#!AMR\n<sandbox voice>'),
  video: Buffer.from('\x00\x00\x00\x18ftypmp42<sandbox video>', 'latin1'),
};

const MIME: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

export class Sandbox extends EventEmitter {
  readonly opts: Required<SandboxOptions>;
  readonly wechatApi: WeChatApiSimulator;
  readonly c4c: C4CSimulator;
  readonly wechat: SimulatedWeChatServer;
  readonly log: SandboxEvent[] = [];
  private server: Server | undefined;
  private readonly clients = new Set<ServerResponse>();

  constructor(opts: SandboxOptions = {}) {
    super();
    this.opts = { ...SANDBOX_DEFAULTS, timeoutMs: 5000, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as Required<SandboxOptions>;
    if (opts.eventEndpoint === undefined) this.opts.eventEndpoint = eventsBeside(this.opts.webhook);
    this.wechatApi = new WeChatApiSimulator({ accounts: [{ appId: this.opts.appId, secret: this.opts.appSecret }] });
    this.c4c = new C4CSimulator({ users: { [this.opts.c4cUser]: this.opts.c4cPassword }, extensionFields: opts.extensionFields });
    this.wechat = new SimulatedWeChatServer({
      webhook: this.opts.webhook, mode: this.opts.mode, token: this.opts.token, encodingAESKey: this.opts.encodingAESKey,
      appId: this.opts.appId, ghId: this.opts.ghId, timeoutMs: this.opts.timeoutMs,
    });
    this.wechatApi.onDelivered.add((m) => this.publish({ type: 'push', openid: m.touser, api: m.api, msgtype: m.msgtype, text: m.msgtype === 'text' ? (m.body.text as { content?: string }).content : JSON.stringify(m.body), msgid: m.msgid }));
    this.c4c.onChange.add((c) => this.publish({ type: 'customer', customer: c }));
    this.c4c.social.onChange.add(() => this.publish({ type: 'conversation' }));
    this.wechatApi.onLog.add((line) => this.publish({ type: 'log', text: line }));
    this.c4c.onLog.add((line) => this.publish({ type: 'log', text: line }));
    this.c4c.onUpdate.add((c, changes) => this.publish({ type: 'customer-updated', customer: c, fields: changes.map((x) => x.field) }));
    this.c4c.events.configure({ endpoint: this.opts.eventEndpoint, username: this.opts.eventUser, password: this.opts.eventPassword, shape: this.opts.eventShape });
  }

  get url(): string {
    const addr = this.server?.address();
    const port = addr && typeof addr === 'object' ? addr.port : this.opts.port;
    return `http://${this.opts.host}:${port}`;
  }

  publish(event: Omit<SandboxEvent, 'at'>): void {
    const e = { at: Date.now(), ...event } as SandboxEvent;
    this.log.push(e);
    if (this.log.length > 500) this.log.splice(0, this.log.length - 500);
    this.emit('event', e);
    const line = `data: ${JSON.stringify(e)}\n\n`;
    for (const c of this.clients) c.write(line);
  }

  /** What a follower does; the webhook gets what WeChat would send. */
  async act(action: string, body: Record<string, unknown>) {
    const openid = typeof body.openid === 'string' && body.openid ? body.openid : newOpenId();
    const appId = this.opts.appId;
    let fields: Record<string, string>;
    switch (action) {
      case 'follow': {
        const scene = typeof body.scene === 'string' && body.scene ? body.scene : '';
        this.wechatApi.interact(appId, openid, 'subscribe');
        fields = this.wechat.event(openid, 'subscribe', scene ? { EventKey: `qrscene_${scene}`, Ticket: `gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL${scene}` } : { EventKey: '' });
        break;
      }
      case 'unfollow':
        this.wechatApi.interact(appId, openid, 'unsubscribe');
        fields = this.wechat.event(openid, 'unsubscribe', { EventKey: '' });
        break;
      case 'text':
        this.wechatApi.interact(appId, openid, 'message');
        fields = this.wechat.text(openid, String(body.content ?? ''));
        break;
      case 'scan':
        this.wechatApi.interact(appId, openid, 'scan');
        fields = this.wechat.event(openid, 'SCAN', { EventKey: String(body.scene ?? '1'), Ticket: 'gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL' });
        break;
      case 'image':
      case 'voice':
      case 'video':
      case 'location':
      case 'link':
        this.wechatApi.interact(appId, openid, 'message');
        fields = this.wechat.message(openid, action, this.messageFields(action, body));
        break;
      case 'click':
        this.wechatApi.interact(appId, openid, 'click');
        fields = this.wechat.event(openid, 'CLICK', { EventKey: String(body.key ?? 'MENU_1') });
        break;
      default:
        throw new Error(`unknown action ${action}`);
    }
    this.publish({ type: 'log', text: `WeChat → webhook: ${fields.MsgType === 'event' ? fields.Event : fields.MsgType} from ${openid} (${this.wechat.opts.mode})` });
    const report = await this.wechat.deliver(fields, action);
    this.publish({ type: 'delivery', report });
    return report;
  }

  /** What WeChat puts in a media, location or link message; media is kept for /cgi-bin/media/get. */
  private messageFields(action: string, body: Record<string, unknown>): Record<string, string> {
    const s = (k: string, d: string): string => (typeof body[k] === 'string' && body[k] ? String(body[k]) : d);
    if (action === 'location') return { Location_X: s('x', '31.190'), Location_Y: s('y', '121.430'), Scale: '15', Label: s('label', '上海市徐汇区') };
    if (action === 'link') return { Title: s('title', 'Order 4711'), Description: s('description', ''), Url: s('url', 'https://example.com/orders/4711') };
    const kind = action as 'image' | 'voice' | 'video';
    const mime = s('mimeType', kind === 'image' ? 'image/png' : kind === 'voice' ? 'audio/amr' : 'video/mp4');
    const bytes = typeof body.base64 === 'string' && body.base64 ? Buffer.from(body.base64, 'base64') : SAMPLE_MEDIA[kind];
    // ttlMs: how long WeChat keeps it (default 3 days; 0 = already expired when Node-RED asks)
    const mediaId = this.wechatApi.addMedia(this.opts.appId, kind, bytes, mime, s('name', `${kind}.${mime.split('/')[1]}`), typeof body.ttlMs === 'number' ? body.ttlMs : undefined);
    if (kind === 'image') return { PicUrl: `${this.url}/__sim/wechat/media-file/${mediaId}`, MediaId: mediaId };
    if (kind === 'voice') return { MediaId: mediaId, Format: 'amr', ...(typeof body.recognition === 'string' ? { Recognition: body.recognition } : {}) };
    return { MediaId: mediaId, ThumbMediaId: mediaId };
  }

  setMode(mode: SandboxMode): void {
    this.wechat.opts.mode = mode;
    this.publish({ type: 'mode', mode });
    // As on the 公众平台: the account's server must be switched too, or it refuses the messages.
    this.publish({ type: 'log', text: `消息加解密方式 → ${mode}：Node-RED 的 wechat-config 也要改成 ${mode}（WECHAT_MESSAGE_MODE），否则消息会被拒绝 / message mode → ${mode}: set wechat-config's Message mode (WECHAT_MESSAGE_MODE) to ${mode} too, or the messages are refused` });
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.wechatApi.handle(req, res) || this.c4c.handle(req, res)) return;
    const url = new URL(req.url || '/', 'http://sandbox');
    void this.own(req, res, url).catch((err: Error) => {
      if (!res.headersSent) sendJson(res, 500, { error: err.message });
    });
  }

  private async own(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) return this.file(res, 'index.html');
    if (req.method === 'GET' && path.startsWith('/page/')) return this.file(res, path.slice('/page/'.length));
    if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { ok: true });
    if (req.method === 'GET' && path === '/api/state') {
      return sendJson(res, 200, {
        config: { mode: this.wechat.opts.mode, webhook: this.opts.webhook, appId: this.opts.appId, ghId: this.opts.ghId, events: this.c4c.events.view() },
        customers: this.c4c.customers,
        conversations: this.c4c.social.conversations(),
        pushes: this.wechatApi.messages.slice(-200),
        log: this.log.slice(-200),
      });
    }
    if (req.method === 'GET' && path === '/api/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
      res.write(': connected\n\n');
      this.clients.add(res);
      req.on('close', () => this.clients.delete(res));
      return;
    }
    if (req.method === 'POST' && path === '/api/agent-reply') {
      // the agent console: C4C calls the mashup (form content=, Basic) as it does for an agent's answer
      const body = JSON.parse((await readBody(req)) || '{}');
      const r = await this.c4c.social.agentReply({ ticketId: String(body.ticketId ?? ''), text: String(body.text ?? ''), private: body.private === true });
      this.publish({ type: 'log', text: `C4C → mashup: reply to ticket ${String(body.ticketId)}${body.private === true ? ' (private note)' : ''} → HTTP ${r.status}` });
      return sendJson(res, 200, { status: r.status, body: r.body });
    }
    if (req.method === 'POST' && path === '/api/mode') {
      const body = JSON.parse((await readBody(req)) || '{}');
      if (!SANDBOX_MODES.includes(body.mode)) return sendJson(res, 400, { error: `mode is ${SANDBOX_MODES.join(', ')}` });
      this.setMode(body.mode);
      return sendJson(res, 200, { mode: body.mode });
    }
    if (req.method === 'POST' && path === '/api/c4c/update') {
      // a sales rep edits the customer in C4C: C4C posts the change event
      const body = JSON.parse((await readBody(req)) || '{}');
      const fields: Record<string, string> = {};
      for (const k of ['FirstName', 'LastName', 'Email', 'Phone']) if (typeof body.fields?.[k] === 'string') fields[k] = body.fields[k];
      const c = this.c4c.update(String(body.objectId ?? ''), fields);
      return c ? sendJson(res, 200, c) : sendJson(res, 404, { error: 'no such customer' });
    }
    if (req.method === 'POST' && path === '/api/c4c/event-shape') {
      const body = JSON.parse((await readBody(req)) || '{}');
      try {
        const config = this.c4c.events.configure({ shape: body.shape });
        this.publish({ type: 'event-shape', shape: config.shape });
        return sendJson(res, 200, config);
      } catch (err) {
        return sendJson(res, 400, { error: (err as Error).message });
      }
    }
    const action = /^\/api\/(follow|unfollow|text|scan|click|image|voice|video|location|link)$/.exec(path);
    if (req.method === 'POST' && action) {
      const body = JSON.parse((await readBody(req)) || '{}');
      return sendJson(res, 200, await this.act(action[1], body));
    }
    sendText(res, 404, 'not found');
  }

  private file(res: ServerResponse, name: string): void {
    if (!/^[\w.-]+$/.test(name)) return sendText(res, 404, 'not found');
    try {
      const text = readFileSync(join(__dirname, 'page', name), 'utf8');
      sendText(res, 200, text, MIME[name.slice(name.lastIndexOf('.'))] ?? 'text/plain; charset=utf-8', { 'Cache-Control': 'no-cache' });
    } catch {
      sendText(res, 404, 'not found');
    }
  }

  listen(port = this.opts.port, host = this.opts.host): Promise<Server> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => {
        this.c4c.tenantUrl = this.url; // the Tenant URL the flow is given (C4C_BASE_URL)
        resolve(this.server!);
      });
    });
  }

  close(): Promise<void> {
    for (const c of this.clients) c.end();
    this.clients.clear();
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections?.();
    });
  }
}
