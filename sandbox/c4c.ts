/**
 * An offline SAP C4C OData service for /sap/c4c/odata/v1/c4codataapi/: Basic auth, service
 * document and $metadata, CSRF tokens bound to a session cookie, IndividualCustomerCollection
 * GET ($filter eq/and, $top, $skip, $select, $format=json) and POST validated against the real
 * metadata (required, creatable, MaxLength), C4C's {"d":{"results":...}} wrapping, 201 + location
 * + etag, and a control API for tests (/__sim/c4c/...).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { URL } from 'node:url';
import { builtInMetadata, builtInMetadataXml, describeProblems, validateCreate, type EntityTypeInfo } from '../lib/c4c/metadata';
import { delay, readBody, sendJson, sendText } from './http-util';

export const C4C_SERVICE = '/sap/c4c/odata/v1/c4codataapi';

export interface C4CSimOptions {
  users?: Record<string, string>;
  /** CSRF token lifetime in seconds (the security session; C4C: tens of minutes). */
  csrfLifetime?: number;
  /** public base URL used in __metadata.uri and location (default: from the Host header) */
  publicBase?: string;
}

interface Session {
  id: string;
  token: string | undefined;
  tokenExpiresAt: number;
  user: string;
}

export interface Customer {
  [field: string]: unknown;
  ObjectID: string;
  CustomerID: string;
}

interface InjectedError {
  status: number;
  count: number;
  retryAfter?: number;
  body?: unknown;
  /** only requests of this kind: 'get' | 'post' | 'any' */
  kind: 'get' | 'post' | 'any';
}

export class C4CSimulator {
  readonly opts: Required<Omit<C4CSimOptions, 'publicBase'>> & { publicBase?: string };
  private readonly sessions = new Map<string, Session>();
  readonly customers: Customer[] = [];
  private nextCustomerId = 1000000;
  private readonly type: EntityTypeInfo;
  private server: Server | undefined;
  readonly faults = { latencyMs: 0, outageUntil: 0, errors: [] as InjectedError[] };
  counters = C4CSimulator.zero();
  readonly onChange = new Set<(c: Customer) => void>();
  /** One line per request handled (the sandbox page's event log). */
  readonly onLog = new Set<(line: string) => void>();

  static zero() {
    return { inFlight: 0, maxInFlight: 0, requests: 0, gets: 0, posts: 0, csrfFetches: 0, csrfRejected: 0, authFailures: 0, created: 0, rejected400: 0, injected: 0, byKind: {} as Record<string, number> };
  }

  constructor(opts: C4CSimOptions = {}) {
    this.opts = { users: opts.users ?? { SANDBOX_USER: 'sandbox-password' }, csrfLifetime: opts.csrfLifetime ?? 1800, publicBase: opts.publicBase };
    const md = builtInMetadata();
    const type = md.entityTypes.get('IndividualCustomer');
    if (!type) throw new Error('metadata without IndividualCustomer');
    this.type = type;
  }

  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url || '/', 'http://sim');
    if (url.pathname.startsWith('/__sim/c4c/')) {
      void this.control(req, res, url).catch((err: Error) => sendJson(res, 500, { error: err.message }));
      return true;
    }
    if (url.pathname !== C4C_SERVICE && !url.pathname.startsWith(`${C4C_SERVICE}/`)) return false;
    void this.serve(req, res, url).catch((err: Error) => {
      if (!res.headersSent) this.error(res, 500, 'SIM_ERROR', err.message);
    });
    return true;
  }

  listen(port: number, host = '127.0.0.1'): Promise<Server> {
    this.server = createServer((req, res) => {
      if (!this.handle(req, res)) sendJson(res, 404, { error: 'not found' });
    });
    return new Promise((resolve) => this.server!.listen(port, host, () => resolve(this.server!)));
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private kind(name: string): void {
    this.counters.byKind[name] = (this.counters.byKind[name] || 0) + 1;
    for (const l of this.onLog) l(`C4C ${name}`);
  }

  private error(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
    sendJson(res, status, { error: { code, message: { lang: 'en', value: message }, innererror: { transactionid: randomBytes(16).toString('hex').toUpperCase() } } }, headers);
  }

  private base(req: IncomingMessage): string {
    return this.opts.publicBase ?? `http://${req.headers.host || '127.0.0.1'}`;
  }

  private cookies(req: IncomingMessage): Record<string, string> {
    const out: Record<string, string> = {};
    for (const part of String(req.headers.cookie || '').split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
    return out;
  }

  private async serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (this.faults.outageUntil > Date.now()) {
      req.socket.destroy();
      return;
    }
    const counters = this.counters;
    counters.inFlight++;
    counters.maxInFlight = Math.max(counters.maxInFlight, counters.inFlight);
    res.once('close', () => counters.inFlight--);
    if (this.faults.latencyMs > 0) await delay(this.faults.latencyMs);
    this.counters.requests++;
    const method = String(req.method || 'GET').toUpperCase();
    if (method === 'GET') this.counters.gets++;
    else this.counters.posts++;

    // Basic auth: 401 without a known user.
    const auth = String(req.headers.authorization || '');
    const decoded = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const user = colon > 0 ? decoded.slice(0, colon) : '';
    if (!user || this.opts.users[user] === undefined || this.opts.users[user] !== decoded.slice(colon + 1)) {
      this.counters.authFailures++;
      this.kind('401');
      sendText(res, 401, '<html><body>Logon failed</body></html>', 'text/html', { 'WWW-Authenticate': 'Basic realm="SAP NetWeaver Application Server [LDCIMYT/001]"' });
      return;
    }

    // Injected errors (after auth, as a real server overload would be).
    const injected = this.faults.errors.find((e) => e.count > 0 && (e.kind === 'any' || (e.kind === 'get') === (method === 'GET')));
    if (injected) {
      injected.count--;
      this.counters.injected++;
      this.kind(`injected ${injected.status}`);
      const headers: Record<string, string> = injected.retryAfter !== undefined ? { 'Retry-After': String(injected.retryAfter) } : {};
      if (injected.body !== undefined) sendJson(res, injected.status, injected.body, headers);
      else this.error(res, injected.status, `SIM_${injected.status}`, injected.status === 429 ? 'Rate limit exceeded' : 'Service unavailable', headers);
      this.faults.errors = this.faults.errors.filter((e) => e.count > 0);
      return;
    }

    // The session: an existing cookie, or a new one.
    const cookies = this.cookies(req);
    const sessionCookie = Object.keys(cookies).find((k) => k.startsWith('SAP_SESSIONID_'));
    let session = sessionCookie ? this.sessions.get(cookies[sessionCookie]) : undefined;
    const setCookies: string[] = [];
    if (!session && method === 'GET') {
      session = { id: randomBytes(24).toString('base64url'), token: undefined, tokenExpiresAt: 0, user };
      this.sessions.set(session.id, session);
      setCookies.push(`SAP_SESSIONID_MYT_123=${session.id}; path=/; secure; HttpOnly; SameSite=None`);
      setCookies.push('sap-usercontext=sap-client=123; path=/');
    }
    const headers: Record<string, string | string[]> = { dataserviceversion: '2.0' };
    if (setCookies.length) headers['set-cookie'] = setCookies;

    // CSRF: a fetch on any GET; modifying requests need the token of THEIR session.
    const csrfHeader = String(req.headers['x-csrf-token'] || '');
    if (method === 'GET' && csrfHeader.toLowerCase() === 'fetch' && session) {
      if (!session.token || session.tokenExpiresAt <= Date.now()) {
        session.token = randomBytes(16).toString('base64');
        session.tokenExpiresAt = Date.now() + this.opts.csrfLifetime * 1000;
      }
      headers['x-csrf-token'] = session.token;
      this.counters.csrfFetches++;
      this.kind('csrf fetch');
    }
    if (method !== 'GET') {
      const valid = session && session.token && session.tokenExpiresAt > Date.now() && csrfHeader === session.token;
      if (!valid) {
        this.counters.csrfRejected++;
        this.kind('403 csrf');
        res.setHeader('x-csrf-token', 'Required');
        sendText(res, 403, 'CSRF token validation failed', 'text/plain; charset=utf-8');
        return;
      }
    }

    const rest = url.pathname.slice(C4C_SERVICE.length).replace(/^\/+/, '');
    const json = url.searchParams.get('$format') === 'json' || String(req.headers.accept || '').includes('application/json');
    const send = (status: number, body: unknown, extra: Record<string, string> = {}): void => {
      for (const [k, v] of Object.entries({ ...headers, ...extra })) res.setHeader(k, v);
      sendJson(res, status, body);
    };

    if (rest === '' && method === 'GET') {
      this.kind('service document');
      if (!json) {
        for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
        sendText(res, 200, `<?xml version="1.0" encoding="utf-8"?><app:service xmlns:app="http://www.w3.org/2007/app" xml:base="${this.base(req)}${C4C_SERVICE}/"><app:workspace><app:collection href="IndividualCustomerCollection"/></app:workspace></app:service>`, 'application/xml');
        return;
      }
      send(200, { d: { EntitySets: ['IndividualCustomerCollection'] } });
      return;
    }
    if (rest === '$metadata' && method === 'GET') {
      this.kind('metadata');
      for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
      sendText(res, 200, builtInMetadataXml(), 'application/xml');
      return;
    }
    const single = /^IndividualCustomerCollection\('([^']*)'\)$/.exec(rest);
    if (single && method === 'GET') {
      this.kind('get entity');
      const c = this.customers.find((x) => x.ObjectID === single[1]);
      if (!c) return this.error(res, 404, 'SY/530', 'Resource not found for segment');
      send(200, { d: { results: this.present(c, req) } });
      return;
    }
    if (rest === 'IndividualCustomerCollection' && method === 'GET') {
      this.kind('query');
      if (!json) return this.error(res, 406, 'SIM_FORMAT', 'the simulator answers JSON only: use $format=json or Accept: application/json');
      let list = this.customers.slice();
      const filter = url.searchParams.get('$filter');
      if (filter !== null) {
        const pred = this.parseFilter(filter);
        if (typeof pred === 'string') return this.error(res, 400, 'SY/530', `Invalid filter: ${pred}`);
        list = list.filter(pred);
      }
      const skip = Number(url.searchParams.get('$skip') ?? 0);
      const top = url.searchParams.has('$top') ? Number(url.searchParams.get('$top')) : 1000;
      if (!Number.isInteger(skip) || skip < 0 || !Number.isInteger(top) || top < 0) return this.error(res, 400, 'SY/530', 'Invalid $top/$skip');
      list = list.slice(skip, skip + Math.min(top, 1000));
      const select = url.searchParams.get('$select');
      const fields = select ? select.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
      send(200, { d: { results: list.map((c) => this.present(c, req, fields)) } });
      return;
    }
    if (rest === 'IndividualCustomerCollection' && method === 'POST') {
      this.kind('create');
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(await readBody(req));
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
      } catch {
        this.counters.rejected400++;
        return this.error(res, 400, 'SY/530', 'Invalid payload: the body is not a JSON object');
      }
      delete body.__metadata;
      // ObjectID is ignored on create (server generated), as C4C does.
      delete body.ObjectID;
      const problems = validateCreate(this.type, body);
      if (problems.length) {
        this.counters.rejected400++;
        const p = problems[0];
        const message = p.problem === 'not-creatable' ? `Property '${p.field}' is not creatable` : p.problem === 'unknown' ? `Property '${p.field}' is invalid` : describeProblems([p]);
        return this.error(res, 400, 'SY/530', message);
      }
      const now = Date.now();
      const c: Customer = {
        ...body,
        ObjectID: randomBytes(16).toString('hex').toUpperCase(),
        CustomerID: typeof body.CustomerID === 'string' && body.CustomerID ? body.CustomerID : String(this.nextCustomerId++),
        FormattedName: [body.FirstName, body.LastName].filter(Boolean).join(' '),
        LifeCycleStatusCode: body.LifeCycleStatusCode ?? '2',
        CreationOn: `/Date(${now})/`,
        ChangedOn: `/Date(${now})/`,
        ETag: `/Date(${now})/`,
      };
      this.customers.push(c);
      this.counters.created++;
      for (const l of this.onChange) l(c);
      const uri = `${this.base(req)}${C4C_SERVICE}/IndividualCustomerCollection('${c.ObjectID}')`;
      const etag = `W/"datetimeoffset'${new Date(now).toISOString().replace(/:/g, '%3A')}'"`;
      send(201, { d: { results: this.present(c, req) } }, { location: uri, etag, 'cache-control': 'no-cache, no-store' });
      return;
    }
    this.error(res, method === 'GET' ? 404 : 405, 'SY/530', `Resource not found for segment '${rest}'`);
  }

  /** An entity as C4C shows it: __metadata, *Text siblings, deferred navigation. */
  private present(c: Customer, req: IncomingMessage, fields?: string[]): Record<string, unknown> {
    const uri = `${this.base(req)}${C4C_SERVICE}/IndividualCustomerCollection('${c.ObjectID}')`;
    const full: Record<string, unknown> = {
      __metadata: { uri, type: 'c4codata.IndividualCustomer', etag: `W/"datetimeoffset'${String(c.ETag)}'"` },
      ...c,
      RoleCodeText: c.RoleCode === 'CRM000' ? 'Customer' : c.RoleCode === 'BUP002' ? 'Prospect' : '',
      LifeCycleStatusCodeText: c.LifeCycleStatusCode === '2' ? 'Active' : '',
      IndividualCustomerAddress: { __deferred: { uri: `${uri}/IndividualCustomerAddress` } },
    };
    if (!fields) return full;
    const out: Record<string, unknown> = { __metadata: full.__metadata };
    for (const f of fields) if (f in full) out[f] = full[f];
    return out;
  }

  /** $filter: `Field eq 'literal'` ('' inside = '), `Field eq 'pre*'`, joined by `and`. */
  private parseFilter(filter: string): ((c: Customer) => boolean) | string {
    const clauses: { field: string; value: string }[] = [];
    let i = 0;
    const s = filter;
    const ws = (): void => {
      while (i < s.length && s[i] === ' ') i++;
    };
    for (;;) {
      ws();
      const m = /^([A-Za-z_][A-Za-z0-9_]*)\s+eq\s+'/.exec(s.slice(i));
      if (!m) return `expected <Property> eq '<value>' at position ${i}`;
      const field = m[1];
      if (!this.type.properties.has(field)) return `property ${field} does not exist`;
      i += m[0].length;
      let value = '';
      for (;;) {
        if (i >= s.length) return 'unterminated string literal';
        if (s[i] === "'") {
          if (s[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += s[i++];
      }
      clauses.push({ field, value });
      ws();
      if (i >= s.length) break;
      const and = /^and\s+/.exec(s.slice(i));
      if (!and) return `unexpected "${s.slice(i, i + 10)}"`;
      i += and[0].length;
    }
    return (c: Customer) => clauses.every(({ field, value }) => {
      const v = c[field] === undefined || c[field] === null ? '' : String(c[field]);
      return value.endsWith('*') && !value.endsWith("\\*") ? v.startsWith(value.slice(0, -1)) : v === value;
    });
  }

  // ---- control ------------------------------------------------------------------------------

  /** Expire every CSRF token now (the next modifying request gets 403 Required). */
  expireCsrf(): void {
    for (const s of this.sessions.values()) s.tokenExpiresAt = 0;
  }

  injectErrors(status: number, count: number, opts: { retryAfter?: number; body?: unknown; kind?: 'get' | 'post' | 'any' } = {}): void {
    this.faults.errors.push({ status, count, retryAfter: opts.retryAfter, body: opts.body, kind: opts.kind ?? 'any' });
  }

  reset(): void {
    this.sessions.clear();
    this.customers.length = 0;
    this.nextCustomerId = 1000000;
    this.faults.latencyMs = 0;
    this.faults.outageUntil = 0;
    this.faults.errors = [];
    this.counters = C4CSimulator.zero();
  }

  stats() {
    return { ...this.counters, customers: this.customers.length, sessions: this.sessions.size };
  }

  private async control(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const what = url.pathname.slice('/__sim/c4c/'.length);
    const body = req.method === 'POST' ? JSON.parse((await readBody(req)) || '{}') : {};
    switch (`${req.method} ${what}`) {
      case 'GET stats':
        return sendJson(res, 200, this.stats());
      case 'GET customers':
        return sendJson(res, 200, this.customers);
      case 'POST faults':
        if (body.latencyMs !== undefined) this.faults.latencyMs = Number(body.latencyMs);
        if (body.outageMs !== undefined) this.faults.outageUntil = Date.now() + Number(body.outageMs);
        if (body.errors) for (const e of [].concat(body.errors)) this.injectErrors(Number((e as InjectedError).status), Number((e as InjectedError).count ?? 1), e);
        return sendJson(res, 200, this.faults);
      case 'POST expire-csrf':
        this.expireCsrf();
        return sendJson(res, 200, { ok: true });
      case 'POST config':
        if (body.csrfLifetime !== undefined) this.opts.csrfLifetime = Number(body.csrfLifetime);
        return sendJson(res, 200, { csrfLifetime: this.opts.csrfLifetime });
      case 'POST reset':
        this.reset();
        return sendJson(res, 200, { ok: true });
      default:
        return sendJson(res, 404, { error: `unknown control ${req.method} ${what}` });
    }
  }
}
