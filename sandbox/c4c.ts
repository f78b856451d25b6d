/**
 * An offline SAP C4C OData service for /sap/c4c/odata/v1/c4codataapi/, as strict as SAP's C4C
 * OData guide: Basic auth, service document and $metadata (the real excerpt plus extension fields
 * given on the command line and typed ones, SIM_TYPED_EXTENSION_FIELDS; `$filter=<EntityType>,…`
 * answers those types, any other query option is a 400; a tenant that ignores or refuses the
 * filter on request), CSRF tokens bound to a session cookie (SAP's cookie names),
 * IndividualCustomerCollection and IndividualCustomerIdentificationCollection GET ($filter `eq`
 * with the literal of the property's Edm type, `and`, `or` only on one property; $top, $skip,
 * $select without navigation paths, $expand; 1,000 rows a page, 100 with $expand, the rest behind
 * `__next`; Atom XML unless JSON is asked for, sandbox/c4c-atom.ts; GUIDs answered in upper case)
 * and POST with deep insert, validated against its OWN reading of the metadata
 * (required, creatable, MaxLength in UTF-16 units as ABAP counts), C4C's quirks (`*` is a
 * wildcard inside `eq`, name fields compare without case), {"d":{"results":...}} wrapping, 201 +
 * location + etag, and a control API for tests (/__sim/c4c/...) with the faults a real tenant
 * shows: commit-then-delay, commit-then-drop, 307, an HTML logon page with 200, a technical user
 * (no CSRF token), errors with an empty code in the logon language. `POST $batch` (sandbox/c4c-batch.ts)
 * runs the same operations, stops after the first failed changeset, and charges `perOperationMs`
 * per operation on top of the request latency — by default (null) `latencyMs`: an operation costs
 * inside a batch what it costs alone, so a $batch of 20 creates takes about 21 × `latencyMs`.
 *
 * It imports nothing from lib/: a simulator that shares the client's code shares its bugs.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { URL } from 'node:url';
import { simAtom } from './c4c-atom';
import { answerBatch } from './c4c-batch';
import { C4CSocialSim } from './c4c-social';
import { C4CEventNotifier, type FieldChange } from './c4c-events';
import { delay, readBody, sendJson, sendText } from './http-util';

export const C4C_SERVICE = '/sap/c4c/odata/v1/c4codataapi';

// ---- the simulator's own $metadata reading (a scanner, deliberately not the client's parser) ----

interface SimProperty {
  name: string;
  /** Edm.String, Edm.Guid, Edm.Boolean, Edm.DateTime, … */
  type: string;
  maxLength?: number;
  nullable: boolean;
  creatable: boolean;
  filterable: boolean;
}

interface SimType {
  name: string;
  key: string;
  properties: Map<string, SimProperty>;
  navigation: Map<string, string>;
}

function simAttrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w:.-]+)\s*=\s*"([^"]*)"/g)) out[m[1]] = m[2];
  return out;
}

/** Entity types of a $metadata document: properties (with C4C's sap: flags) and navigation targets. */
export function simReadMetadata(xml: string): Map<string, SimType> {
  const types = new Map<string, SimType>();
  for (const m of xml.matchAll(/<EntityType\s([^>]*)>([\s\S]*?)<\/EntityType>/g)) {
    const name = simAttrs(m[1]).Name;
    const key = simAttrs(/<PropertyRef\s([^>]*)>/.exec(m[2])?.[1] ?? '').Name ?? 'ObjectID';
    const properties = new Map<string, SimProperty>();
    for (const p of m[2].matchAll(/<Property\s([^>]*?)\/?>/g)) {
      const a = simAttrs(p[1]);
      properties.set(a.Name, { name: a.Name, type: a.Type ?? 'Edm.String', maxLength: a.MaxLength ? Number(a.MaxLength) : undefined, nullable: a.Nullable !== 'false', creatable: a['sap:creatable'] !== 'false', filterable: a['sap:filterable'] !== 'false' });
    }
    const navigation = new Map<string, string>();
    for (const n of m[2].matchAll(/<NavigationProperty\s([^>]*?)\/?>/g)) {
      const a = simAttrs(n[1]);
      navigation.set(a.Name, a.ToRole);
    }
    types.set(name, { name, key, properties, navigation });
  }
  return types;
}

/**
 * Typed extension fields every simulated tenant has (real tenants' `$metadata` carries Edm.Guid,
 * Edm.Boolean and Edm.DateTime extension fields): lookups on them need typed literals.
 */
export const SIM_TYPED_EXTENSION_FIELDS = ['FollowerUUID_KUT:Edm.Guid', 'WeChatFollower_KUT:Edm.Boolean', 'FollowedOn_KUT:Edm.DateTime'];

/** `Name` (Edm.String) or `Name:Edm.Type`. */
function extensionProperty(field: string): string {
  const [name, type = 'Edm.String'] = field.split(':');
  const facets = type === 'Edm.String' ? ' MaxLength="60" FixedLength="true"' : type === 'Edm.DateTime' ? ' Precision="0"' : '';
  return `<Property Name="${name}" Type="${type}" Nullable="true"${facets} sap:creatable="true" sap:updatable="true" sap:filterable="true" c4c:extension-field="true" sap:label="${name}"/>\n                `;
}

/** The served document: the excerpt with the tenant's extension fields (and the typed ones) added to IndividualCustomer. */
export function simMetadataXml(extensionFields: string[] = []): string {
  const xml = readFileSync(join(__dirname, 'c4c-metadata.xml'), 'utf8');
  const props = [...SIM_TYPED_EXTENSION_FIELDS, ...extensionFields].map(extensionProperty).join('');
  return xml.replace(/(<EntityType Name="IndividualCustomer"[^>]*>[\s\S]*?)(<NavigationProperty)/, `$1${props}$2`);
}

/**
 * `$metadata?$filter=A,B` as C4C answers it: those entity types "including all dependent
 * EntityTypes" (SAP's guide, Filtering Metadata) — here the targets of their navigation
 * properties and the code lists (CodeList) of their value helps (`<Type>…CodeCollection`) — and
 * their entity sets (the rest of the document as it is). Types are named without or with the
 * namespace. `dependents: false` answers only the types named.
 */
export function simMetadataSubset(xml: string, types: string[], opts: { dependents?: boolean } = {}): string {
  const named = new Set(types.map((t) => t.trim().replace(/^.*\./, '')).filter(Boolean));
  const wanted = new Set(named);
  if (opts.dependents !== false) {
    for (const m of xml.matchAll(/<EntityType\s([^>]*)>([\s\S]*?)<\/EntityType>/g)) {
      if (!named.has(simAttrs(m[1]).Name)) continue;
      for (const n of m[2].matchAll(/<NavigationProperty\s([^>]*?)\/?>/g)) wanted.add(simAttrs(n[1]).ToRole);
    }
    for (const m of xml.matchAll(/<EntitySet\s([^>]*?)\/>/g)) {
      const a = simAttrs(m[1]);
      if (/\.CodeList$/.test(a.EntityType) && [...named].some((t) => a.Name.startsWith(t) && /CodeCollection$/.test(a.Name))) wanted.add('CodeList');
    }
  }
  return xml
    .replace(/\s*<EntityType\s([^>]*)>[\s\S]*?<\/EntityType>/g, (whole, attrs: string) => (wanted.has(simAttrs(attrs).Name) ? whole : ''))
    .replace(/\s*<EntitySet\s([^>]*?)\/>/g, (whole, attrs: string) => (wanted.has(String(simAttrs(attrs).EntityType).replace(/^.*\./, '')) ? whole : ''))
    .replace(/\s*<FunctionImport\s[^>]*?\/>|\s*<FunctionImport\s[^>]*>[\s\S]*?<\/FunctionImport>/g, '');
}

/** Fields C4C compares without regard to case (names). */
const NAME_FIELDS = new Set(['FirstName', 'LastName', 'MiddleName', 'AdditionalLastName', 'FormattedName', 'Initials', 'NickName', 'BirthName']);

/** C4C's `eq`: `*` is a wildcard anywhere in the literal; name fields ignore case. */
export function simMatches(field: string, actual: string, literal: string): boolean {
  const fold = NAME_FIELDS.has(field);
  if (!literal.includes('*')) return fold ? actual.toUpperCase() === literal.toUpperCase() : actual === literal;
  const re = new RegExp('^' + literal.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', fold ? 'is' : 's');
  return re.test(actual);
}

/** Milliseconds of a stored date: `/Date(ms)/` or ISO 8601 (no zone = UTC). */
function simDateMs(v: unknown): number {
  const text = String(v ?? '');
  const json = /^\/Date\((-?\d+)/.exec(text);
  if (json) return Number(json[1]);
  return Date.parse(/(Z|[+-]\d{2}:\d{2})$/.test(text) ? text : `${text}Z`);
}

/** The test a `$filter` literal of `kind` makes on a property of Edm `type`, or why C4C refuses it. */
function simLiteral(type: string, kind: string, field: string, value: string): ((v: unknown) => boolean) | string {
  const expected: Record<string, string> = { 'Edm.String': 'string', 'Edm.Guid': 'guid', 'Edm.Boolean': 'boolean', 'Edm.DateTime': 'datetime', 'Edm.DateTimeOffset': 'datetimeoffset' };
  const want = expected[type] ?? (/^Edm\.(Byte|SByte|Int16|Int32|Int64|Decimal|Double|Single)$/.test(type) ? 'number' : 'string');
  if (kind !== want) return `the literal for ${field} must be of type ${type} (got a ${kind} literal)`;
  switch (kind) {
    case 'guid':
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) return `invalid GUID literal for ${field}`;
      return (v) => String(v ?? '').toLowerCase() === value.toLowerCase();
    case 'boolean':
      return (v) => String(v ?? '').toLowerCase() === value;
    case 'datetime':
    case 'datetimeoffset': {
      const ms = simDateMs(value);
      if (!Number.isFinite(ms)) return `invalid ${kind} literal for ${field}`;
      return (v) => v !== undefined && v !== null && v !== '' && simDateMs(v) === ms;
    }
    case 'number':
      return (v) => v !== undefined && v !== null && v !== '' && Number(v) === Number(value);
    default:
      return (v) => simMatches(field, v === undefined || v === null ? '' : String(v), value);
  }
}

const EMPTY_CODE_TEXT: Record<string, (status: number) => string> = {
  de: (status) => (status >= 500 ? 'Bei der Verarbeitung der Anfrage ist ein interner Fehler aufgetreten' : 'Ungültiger Wert für Eigenschaft RoleCode'),
  zh: (status) => (status >= 500 ? '处理请求时发生内部错误' : '属性 RoleCode 的值无效'),
  en: (status) => (status >= 500 ? 'An internal error occurred while processing the request' : 'Invalid value for property RoleCode'),
};

export interface C4CSimOptions {
  users?: Record<string, string>;
  /** extension fields (…_KUT) added to IndividualCustomer in $metadata and accepted on create */
  extensionFields?: string[];
  /** CSRF token lifetime in seconds (the security session; C4C: tens of minutes). */
  csrfLifetime?: number;
  /** public base URL used in __metadata.uri and location (default: from the Host header) */
  publicBase?: string;
  /**
   * How the tenant answers `$metadata?$filter=<EntityType>,…`: 'subset' (those types and the
   * types they depend on, as SAP's guide documents; default), 'ignore' (the whole document),
   * 'refuse' (400), 'partial' (only the first type named, without its dependents).
   */
  metadataFilter?: MetadataFilterMode;
}

export type MetadataFilterMode = 'subset' | 'ignore' | 'refuse' | 'partial';
const METADATA_FILTER_MODES: MetadataFilterMode[] = ['subset', 'ignore', 'refuse', 'partial'];
/** The query options C4C's `$metadata` takes; any other is a 400. */
const METADATA_OPTIONS = new Set(['$filter', 'sap-label', 'sap-language']);

interface Session {
  id: string;
  xsrf: string;
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
  /** 'redirect': 307 to the path with a slash; 'login': an HTML logon page with 200; 'empty-code': an OData error with code "" */
  mode?: 'status' | 'redirect' | 'login' | 'empty-code';
  /** language of an empty-code error text: 'de' | 'zh' | 'en' */
  lang?: string;
}

/** How the next POSTs behave: commit, then answer late or drop the connection. */
interface SlowCommit {
  count: number;
  /** ms before the customer is committed */
  commitAfterMs: number;
  /** ms (after arrival) before the answer; ignored with drop */
  answerAfterMs: number;
  /** close the connection after the commit instead of answering */
  drop: boolean;
}

export interface Identification {
  [field: string]: unknown;
  ObjectID: string;
  ParentObjectID: string;
  IDTypeCode: string;
  IDNumber: string;
}

interface OperationResult {
  status: number;
  headers?: Record<string, string>;
  body: string;
  /** close the connection instead of answering (commit, then drop) */
  drop?: boolean;
}

export class C4CSimulator {
  readonly opts: Required<Omit<C4CSimOptions, 'publicBase'>> & { publicBase?: string };
  private readonly sessions = new Map<string, Session>();
  readonly customers: Customer[] = [];
  readonly identifications: Identification[] = [];
  private nextCustomerId = 1000000;
  private types!: Map<string, SimType>;
  private metadataXml!: string;
  private extensionFields: string[] = [];
  private readonly metadataFilterAsBuilt: MetadataFilterMode;
  private server: Server | undefined;
  readonly faults = { latencyMs: 0, perOperationMs: null as number | null, outageUntil: 0, errors: [] as InjectedError[], slowCommits: [] as SlowCommit[], technicalUser: false };
  counters = C4CSimulator.zero();
  /** The query of every `$metadata` request (tests: what the client asked for). */
  metadataQueries: string[] = [];
  readonly onChange = new Set<(c: Customer) => void>();
  /** Social media profiles, activities, tickets and the agent's reply (sandbox/c4c-social.ts). */
  readonly social = new C4CSocialSim();
  /** One line per request handled (the sandbox page's event log). */
  readonly onLog = new Set<(line: string) => void>();
  /** A customer edited (update): the changed fields. */
  readonly onUpdate = new Set<(c: Customer, changes: FieldChange[]) => void>();
  /** The tenant URL a consumer of change events knows (odataServiceEndpoint); default: where the simulator listens. */
  tenantUrl: string | undefined;
  /** Change events to an external consumer (off until an endpoint is configured). */
  readonly events = new C4CEventNotifier(() => this.tenantUrl ?? this.opts.publicBase ?? '', C4C_SERVICE, (line) => {
    for (const l of this.onLog) l(line);
  });

  static zero() {
    return { inFlight: 0, maxInFlight: 0, requests: 0, gets: 0, posts: 0, csrfFetches: 0, csrfRejected: 0, authFailures: 0, created: 0, rejected400: 0, injected: 0, logons: 0, metadata: 0, batches: 0, batchOperations: 0, byKind: {} as Record<string, number>, languages: {} as Record<string, number> };
  }

  constructor(opts: C4CSimOptions = {}) {
    this.opts = { users: opts.users ?? { SANDBOX_USER: 'sandbox-password' }, csrfLifetime: opts.csrfLifetime ?? 1800, publicBase: opts.publicBase, extensionFields: opts.extensionFields ?? [], metadataFilter: opts.metadataFilter ?? 'subset' };
    this.metadataFilterAsBuilt = this.opts.metadataFilter;
    this.setExtensionFields(opts.extensionFields ?? []);
  }

  /** Add the tenant's own fields (names ending _KUT / _SDK in a real tenant). */
  setExtensionFields(fields: string[]): void {
    for (const f of fields) if (!/^[A-Za-z_][A-Za-z0-9_]{0,59}(:Edm\.(String|Guid|Boolean|DateTime|DateTimeOffset|Int32|Decimal))?$/.test(f)) throw new Error(`invalid extension field ${f} (Name or Name:Edm.Type)`);
    this.extensionFields = fields.slice();
    this.metadataXml = simMetadataXml(this.extensionFields);
    this.types = simReadMetadata(this.metadataXml);
    if (!this.types.get('IndividualCustomer')) throw new Error('metadata without IndividualCustomer');
  }

  private get type(): SimType {
    return this.types.get('IndividualCustomer') as SimType;
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
    return new Promise((resolve) => this.server!.listen(port, host, () => {
      const addr = this.server!.address();
      if (this.tenantUrl === undefined && addr && typeof addr === 'object') this.tenantUrl = `http://${host}:${addr.port}`;
      resolve(this.server!);
    }));
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
    const lang = String(req.headers['sap-language'] || url.searchParams.get('sap-language') || '').toLowerCase() || String(req.headers['accept-language'] || '').slice(0, 2).toLowerCase() || 'en';
    this.counters.languages[lang] = (this.counters.languages[lang] || 0) + 1;

    // Basic auth: 401 without a known user. (A TLS client certificate is the sandbox's https
    // front's business; see the tests.)
    const auth = String(req.headers.authorization || '');
    const decoded = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const user = colon > 0 ? decoded.slice(0, colon) : '';
    const certUser = (req.socket as { getPeerCertificate?: () => { subject?: { CN?: string } } }).getPeerCertificate?.()?.subject?.CN;
    if (!certUser && (!user || this.opts.users[user] === undefined || this.opts.users[user] !== decoded.slice(colon + 1))) {
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
      this.faults.errors = this.faults.errors.filter((e) => e.count > 0);
      const mode = injected.mode ?? 'status';
      this.kind(`injected ${mode === 'status' ? injected.status : mode}`);
      if (mode === 'redirect') {
        res.writeHead(307, { Location: `${this.base(req)}${url.pathname}/${url.search}`, 'Content-Length': '0' });
        res.end();
        return;
      }
      if (mode === 'login') {
        sendText(res, 200, '<!DOCTYPE html><html><head><title>Logon</title></head><body><form method="post" action="/sap/bc/ui5_ui5/ui2/ushell/shells/abap/FioriLaunchpad.html"><input name="sap-user"><input name="sap-password" type="password"></form></body></html>', 'text/html; charset=utf-8');
        return;
      }
      const status = injected.status || 400;
      if (mode === 'empty-code') {
        const text = (EMPTY_CODE_TEXT[injected.lang ?? lang] ?? EMPTY_CODE_TEXT.en)(status);
        sendJson(res, status, { error: { code: '', message: { lang: injected.lang ?? lang, value: text } } });
        return;
      }
      const headers: Record<string, string> = injected.retryAfter !== undefined ? { 'Retry-After': String(injected.retryAfter) } : {};
      if (injected.body !== undefined) sendJson(res, status, injected.body, headers);
      else this.error(res, status, `SIM_${status}`, status === 429 ? 'Rate limit exceeded' : 'Service unavailable', headers);
      return;
    }

    // The session: an existing cookie, or a new one (a logon).
    const cookies = this.cookies(req);
    const sessionCookie = Object.keys(cookies).find((k) => k.startsWith('SAP_SESSIONID_'));
    let session = sessionCookie ? this.sessions.get(cookies[sessionCookie]) : undefined;
    const setCookies: string[] = [];
    if (!session && (method === 'GET' || this.faults.technicalUser)) {
      session = { id: randomBytes(24).toString('base64url'), xsrf: randomBytes(18).toString('base64url'), token: undefined, tokenExpiresAt: 0, user: user || String(certUser) };
      this.sessions.set(session.id, session);
      this.counters.logons++;
      setCookies.push(`SAP_SESSIONID_MYT_123=${session.id}; path=/; secure; HttpOnly; SameSite=None`);
      setCookies.push(`sap-XSRF_MYT_123=${session.xsrf}; path=/sap/c4c/odata; secure; HttpOnly; SameSite=None`);
      setCookies.push('sap-usercontext=sap-client=123; path=/');
    }
    const headers: Record<string, string | string[]> = { dataserviceversion: '2.0' };
    if (setCookies.length) headers['set-cookie'] = setCookies;

    // CSRF: a fetch on any GET; modifying requests need the token of THEIR session. A technical
    // user gets no token and needs none (but still a session: a request without the cookies logs on again).
    const csrfHeader = String(req.headers['x-csrf-token'] || '');
    if (method === 'GET' && csrfHeader.toLowerCase() === 'fetch' && session && !this.faults.technicalUser) {
      if (!session.token || session.tokenExpiresAt <= Date.now()) {
        session.token = randomBytes(16).toString('base64');
        session.tokenExpiresAt = Date.now() + this.opts.csrfLifetime * 1000;
      }
      headers['x-csrf-token'] = session.token;
      this.counters.csrfFetches++;
      this.kind('csrf fetch');
    }
    if (method !== 'GET' && !this.faults.technicalUser) {
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
        sendText(res, 200, `<?xml version="1.0" encoding="utf-8"?><app:service xmlns:app="http://www.w3.org/2007/app" xml:base="${this.base(req)}${C4C_SERVICE}/"><app:workspace><app:collection href="IndividualCustomerCollection"/><app:collection href="IndividualCustomerIdentificationCollection"/></app:workspace></app:service>`, 'application/xml');
        return;
      }
      send(200, { d: { EntitySets: ['IndividualCustomerCollection', 'IndividualCustomerIdentificationCollection'] } });
      return;
    }
    if (rest === '$metadata' && method === 'GET') {
      this.counters.metadata++;
      this.metadataQueries.push(url.search);
      for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
      const unknown = [...url.searchParams.keys()].find((k) => !METADATA_OPTIONS.has(k));
      const filter = url.searchParams.get('$filter');
      const mode = this.opts.metadataFilter;
      if (unknown !== undefined || (filter !== null && mode === 'refuse')) {
        this.kind('metadata: 400');
        const r = this.errorResult(400, 'SY/530', `Invalid query option '${unknown ?? '$filter'}' for $metadata`);
        sendText(res, r.status, r.body, 'application/json; charset=utf-8');
        return;
      }
      this.kind(filter === null ? 'metadata' : `metadata $filter=${filter}`);
      const types = filter === null || mode === 'ignore' ? undefined : filter.split(',').slice(0, mode === 'partial' ? 1 : undefined);
      sendText(res, 200, types ? simMetadataSubset(this.metadataXml, types, { dependents: mode !== 'partial' }) : this.metadataXml, 'application/xml');
      return;
    }
    if (rest === '$batch' && method === 'POST') {
      this.kind('$batch');
      this.counters.batches++;
      const raw = await readBody(req);
      let drop = false;
      const answer = await answerBatch(String(req.headers['content-type'] || ''), raw, async (op) => {
        const r = await this.operation(op.method, op.url, op.headers, op.body, req);
        if (r.drop) drop = true;
        return { status: r.status, headers: r.headers, body: r.body };
      }, { perOperationMs: this.faults.perOperationMs ?? this.faults.latencyMs });
      this.counters.batchOperations += answer.operations;
      if (drop) {
        req.socket.destroy();
        return;
      }
      if (res.destroyed || req.socket.destroyed) return;
      for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
      sendText(res, answer.status, answer.body, answer.contentType);
      return;
    }
    const bodyText = method === 'GET' ? '' : await readBody(req, 32 * 1024 * 1024); // media attachments
    const lower: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') lower[k.toLowerCase()] = v;
    const r = await this.operation(method, `${rest}${url.search}`, lower, bodyText, req);
    if (r.drop) {
      req.socket.destroy();
      return;
    }
    if (res.destroyed || req.socket.destroyed) return;
    const { 'Content-Type': contentType = 'application/json; charset=utf-8', ...extra } = r.headers ?? {};
    for (const [k, v] of Object.entries({ ...headers, ...extra })) res.setHeader(k, v);
    sendText(res, r.status, r.body, contentType);
  }

  private errorResult(status: number, code: string, message: string): OperationResult {
    return { status, body: JSON.stringify({ error: { code, message: { lang: 'en', value: message }, innererror: { transactionid: randomBytes(16).toString('hex').toUpperCase() } } }) };
  }

  /**
   * One OData operation (a plain request, or a part of a `$batch`): the entity read, the
   * collection queries and the create, for a URL relative to the service root. Answers instead
   * of writing to the response; `drop` asks the caller to close the connection (commit, then drop).
   */
  private async operation(method: string, relUrl: string, opHeaders: Record<string, string>, bodyText: string, req: IncomingMessage): Promise<OperationResult> {
    const url = new URL(relUrl.replace(/^\/+/, ''), `http://sim${C4C_SERVICE}/`);
    const r = await this.operationAsJson(method, url, bodyText, req);
    // Atom XML unless JSON is asked for, as C4C answers.
    const json = url.searchParams.get('$format') === 'json' || String(opHeaders.accept || '').includes('application/json');
    const atom = json ? undefined : simAtom(r.body);
    return atom ? { ...r, headers: { ...(r.headers ?? {}), 'Content-Type': atom.contentType }, body: atom.body } : r;
  }

  private async operationAsJson(method: string, url: URL, bodyText: string, req: IncomingMessage): Promise<OperationResult> {
    const rest = url.pathname.slice(C4C_SERVICE.length).replace(/^\/+/, '');
    const ok = (status: number, body: unknown, extra: Record<string, string> = {}): OperationResult => ({ status, headers: extra, body: JSON.stringify(body) });
    const social = this.social.operation(method, rest, url, bodyText, `${this.base(req)}${C4C_SERVICE}`);
    if (social) {
      this.kind(`social ${method === 'GET' ? 'read' : 'create'} ${rest.replace(/[(?].*$/, '')}`);
      return social;
    }
    const single = /^IndividualCustomerCollection\('([^']*)'\)$/.exec(rest);
    if (single && method === 'GET') {
      this.kind('get entity');
      const c = this.customers.find((x) => x.ObjectID === single[1]);
      if (!c) return this.errorResult(404, 'SY/530', 'Resource not found for segment');
      return ok(200, { d: { results: this.present(c, req) } });
    }
    const collections: Record<string, { type: string; rows: () => Record<string, unknown>[] }> = {
      IndividualCustomerCollection: { type: 'IndividualCustomer', rows: () => this.customers },
      IndividualCustomerIdentificationCollection: { type: 'IndividualCustomerIdentification', rows: () => this.identifications },
    };
    const coll = collections[rest];
    if (coll && method === 'GET') {
      this.kind(rest === 'IndividualCustomerCollection' ? 'query' : 'query identification');
      const type = this.types.get(coll.type) as SimType;
      let list = coll.rows().slice();
      const filter = url.searchParams.get('$filter');
      if (filter !== null) {
        const pred = this.parseFilter(filter, type);
        if (typeof pred === 'string') return this.errorResult(400, 'SY/530', `Invalid filter: ${pred}`);
        list = list.filter(pred);
      }
      const expand = (url.searchParams.get('$expand') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      for (const e of expand) if (!type.navigation.has(e)) return this.errorResult(400, 'SY/530', `Invalid $expand: ${e}`);
      const select = url.searchParams.get('$select');
      const fields = select ? select.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
      const path = fields?.find((f) => f.includes('/'));
      if (path) return this.errorResult(400, 'SY/530', `Invalid $select: '${path}' is a navigation path`);
      // Server paging as the guide describes it: 1,000 rows a page, 100 with $expand; the rest behind __next ($skiptoken).
      const skip = Number(url.searchParams.get('$skip') ?? 0);
      const token = Number(url.searchParams.get('$skiptoken') ?? 0);
      const top = url.searchParams.has('$top') ? Number(url.searchParams.get('$top')) : Infinity;
      if (![skip, token].every((n) => Number.isInteger(n) && n >= 0) || !(top === Infinity || (Number.isInteger(top) && top >= 0))) return this.errorResult(400, 'SY/530', 'Invalid $top/$skip/$skiptoken');
      const start = skip + token;
      const end = Math.min(list.length, skip + top);
      const page = list.slice(start, Math.min(end, start + (expand.length ? 100 : 1000)));
      let next: string | undefined;
      if (start + page.length < end) {
        const params = new URLSearchParams(url.searchParams);
        params.set('$skiptoken', String(token + page.length));
        next = `${this.base(req)}${C4C_SERVICE}/${rest}?${params.toString().replace(/\+/g, '%20')}`;
      }
      const results = page.map((row) => (rest === 'IndividualCustomerCollection' ? this.present(row as Customer, req, fields) : this.presentIdentification(row as Identification, req, expand, fields)));
      return ok(200, { d: next ? { results, __next: next } : { results } });
    }
    if (rest === 'IndividualCustomerCollection' && method === 'POST') {
      this.kind('create');
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(bodyText);
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
      } catch {
        this.counters.rejected400++;
        return this.errorResult(400, 'SY/530', 'Invalid payload: the body is not a JSON object');
      }
      delete body.__metadata;
      // ObjectID is ignored on create (server generated), as C4C does.
      delete body.ObjectID;
      const problem = this.check(this.type, body, false);
      if (problem) {
        this.counters.rejected400++;
        return this.errorResult(400, 'SY/530', problem);
      }
      if (typeof body.UUID === 'string' && this.customers.some((c) => String(c.UUID).toLowerCase() === String(body.UUID).toLowerCase())) {
        this.counters.rejected400++;
        return this.errorResult(400, 'SY/530', `Instance with UUID ${body.UUID} already exists`);
      }
      const slow = this.faults.slowCommits.find((x) => x.count > 0);
      if (slow) {
        slow.count--;
        this.faults.slowCommits = this.faults.slowCommits.filter((x) => x.count > 0);
        const arrived = Date.now();
        this.kind(slow.drop ? 'create: commit, then drop' : 'create: commit, answer late');
        if (slow.commitAfterMs > 0) await delay(slow.commitAfterMs);
        const c = this.commit(body);
        if (slow.drop) return { ...this.created(c, req), drop: true };
        await delay(Math.max(0, slow.answerAfterMs - (Date.now() - arrived)));
        return this.created(c, req);
      }
      return this.created(this.commit(body), req);
    }
    return this.errorResult(method === 'GET' ? 404 : 405, 'SY/530', `Resource not found for segment '${rest}'`);
  }

  /** The first problem C4C would answer 400 for, or undefined. Lengths in UTF-16 units (ABAP). */
  private check(type: SimType, body: Record<string, unknown>, child: boolean): string | undefined {
    for (const [field, value] of Object.entries(body)) {
      const p = type.properties.get(field);
      if (!p) {
        const target = type.navigation.get(field);
        if (!target) return `Property '${field}' is invalid`;
        const targetType = this.types.get(target);
        if (!targetType) return `Deep insert of '${field}' is not supported`;
        const items = Array.isArray(value) ? value : [value];
        for (const item of items) {
          if (!item || typeof item !== 'object' || Array.isArray(item)) return `Invalid payload for '${field}'`;
          const problem = this.check(targetType, item as Record<string, unknown>, true);
          if (problem) return problem;
        }
        continue;
      }
      if (!p.creatable) return `Property '${field}' is not creatable`;
      if (typeof value === 'string' && p.maxLength !== undefined && value.length > p.maxLength) return `Value of '${field}' exceeds the maximum length ${p.maxLength}`;
    }
    for (const p of type.properties.values()) {
      if (p.nullable || !p.creatable || p.name === type.key || (child && (p.name === 'ParentObjectID' || p.name === 'CustomerID'))) continue;
      const v = body[p.name];
      if (v === undefined || v === null || v === '') return `Property '${p.name}' is mandatory`;
    }
    return undefined;
  }

  private commit(body: Record<string, unknown>): Customer {
    const now = Date.now();
    const nested = body.IndividualCustomerIdentification;
    delete body.IndividualCustomerIdentification;
    const c: Customer = {
      ...body,
      ObjectID: randomBytes(16).toString('hex').toUpperCase(),
      CustomerID: typeof body.CustomerID === 'string' && body.CustomerID ? body.CustomerID : String(this.nextCustomerId++),
      UUID: typeof body.UUID === 'string' ? body.UUID : randomUUID(),
      FormattedName: [body.FirstName, body.LastName].filter(Boolean).join(' '),
      LifeCycleStatusCode: body.LifeCycleStatusCode ?? '2',
      CreationOn: `/Date(${now})/`,
      ChangedOn: `/Date(${now})/`,
      ETag: `/Date(${now})/`,
    };
    for (const item of nested === undefined ? [] : Array.isArray(nested) ? nested : [nested]) {
      const i = item as Record<string, unknown>;
      this.identifications.push({ ...i, ObjectID: randomBytes(16).toString('hex').toUpperCase(), ParentObjectID: c.ObjectID, CustomerID: c.CustomerID, IDTypeCode: String(i.IDTypeCode), IDNumber: String(i.IDNumber), ETag: `/Date(${now})/` });
    }
    this.customers.push(c);
    this.counters.created++;
    for (const l of this.onChange) l(c);
    return c;
  }

  private created(c: Customer, req: IncomingMessage): OperationResult {
    const uri = `${this.base(req)}${C4C_SERVICE}/IndividualCustomerCollection('${c.ObjectID}')`;
    const etag = `W/"datetimeoffset'${String(c.ETag)}'"`;
    return { status: 201, headers: { location: uri, etag, 'cache-control': 'no-cache, no-store' }, body: JSON.stringify({ d: { results: this.present(c, req) } }) };
  }

  /** An entity as C4C shows it: __metadata, *Text siblings, deferred navigation. */
  private present(c: Customer, req: IncomingMessage, fields?: string[]): Record<string, unknown> {
    const uri = `${this.base(req)}${C4C_SERVICE}/IndividualCustomerCollection('${c.ObjectID}')`;
    const full: Record<string, unknown> = {
      __metadata: { uri, type: 'c4codata.IndividualCustomer', etag: `W/"datetimeoffset'${String(c.ETag)}'"` },
      ...c,
      RoleCodeText: c.RoleCode === 'CRM000' ? 'Customer' : c.RoleCode === 'BUP002' ? 'Prospect' : '',
      LifeCycleStatusCodeText: c.LifeCycleStatusCode === '2' ? 'Active' : c.LifeCycleStatusCode === '4' ? 'Obsolete' : '',
      IndividualCustomerAddress: { __deferred: { uri: `${uri}/IndividualCustomerAddress` } },
      IndividualCustomerIdentification: { __deferred: { uri: `${uri}/IndividualCustomerIdentification` } },
    };
    // C4C answers GUIDs in upper case, whatever case they were created in.
    for (const p of this.type.properties.values()) if (p.type === 'Edm.Guid' && typeof full[p.name] === 'string') full[p.name] = (full[p.name] as string).toUpperCase();
    if (!fields) return full;
    const out: Record<string, unknown> = { __metadata: full.__metadata };
    for (const f of fields) if (f in full) out[f] = full[f];
    return out;
  }

  private presentIdentification(i: Identification, req: IncomingMessage, expand: string[], fields?: string[]): Record<string, unknown> {
    const uri = `${this.base(req)}${C4C_SERVICE}/IndividualCustomerIdentificationCollection('${i.ObjectID}')`;
    const full: Record<string, unknown> = { __metadata: { uri, type: 'c4codata.IndividualCustomerIdentification' }, ...i };
    const parent = this.customers.find((c) => c.ObjectID === i.ParentObjectID);
    const sub = (fields ?? []).filter((f) => f.startsWith('IndividualCustomer/')).map((f) => f.slice('IndividualCustomer/'.length));
    full.IndividualCustomer = expand.includes('IndividualCustomer') && parent ? this.present(parent, req, sub.length ? sub : undefined) : { __deferred: { uri: `${uri}/IndividualCustomer` } };
    if (!fields) return full;
    const out: Record<string, unknown> = { __metadata: full.__metadata };
    for (const f of fields) if (!f.includes('/') && f in full) out[f] = full[f];
    if (sub.length || fields.includes('IndividualCustomer')) out.IndividualCustomer = full.IndividualCustomer;
    return out;
  }

  /**
   * $filter: `Field eq <literal>` joined by `and` / `or` (and binds tighter), the literal of the
   * field's Edm type ('text', guid'…', true/false, datetime'…', datetimeoffset'…', a number; any
   * other literal is a 400), `or` only between terms on one property (the guide); C4C's `eq` rules.
   */
  private parseFilter(filter: string, type: SimType): ((c: Record<string, unknown>) => boolean) | string {
    // `or` binds weaker than `and`: a list of and-groups, any of which may match.
    const groups: { field: string; test: (v: unknown) => boolean }[][] = [[]];
    let clauses = groups[0];
    let i = 0;
    const s = filter;
    const ws = (): void => {
      while (i < s.length && s[i] === ' ') i++;
    };
    for (;;) {
      ws();
      const m = /^([A-Za-z_][A-Za-z0-9_]*)\s+eq\s+/.exec(s.slice(i));
      if (!m) return `expected <Property> eq <literal> at position ${i}`;
      const field = m[1];
      const p = type.properties.get(field);
      if (!p) return `property ${field} does not exist`;
      if (!p.filterable) return `property ${field} is not filterable`;
      i += m[0].length;
      const lit = /^(guid|datetime|datetimeoffset)?'/.exec(s.slice(i));
      let kind: string;
      let value = '';
      if (lit) {
        kind = lit[1] ?? 'string';
        i += lit[0].length;
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
      } else {
        const bare = /^(true|false|[+-]?\d+(\.\d+)?([eE][+-]?\d+)?[LMDFlmdf]?)(?=\s|$)/.exec(s.slice(i));
        if (!bare) return `expected a literal for ${field} at position ${i}`;
        kind = bare[1] === 'true' || bare[1] === 'false' ? 'boolean' : 'number';
        value = bare[1].replace(/[LMDFlmdf]$/, '');
        i += bare[0].length;
      }
      const test = simLiteral(p.type, kind, field, value);
      if (typeof test === 'string') return test;
      clauses.push({ field, test });
      ws();
      if (i >= s.length) break;
      const join = /^(and|or)\s+/.exec(s.slice(i));
      if (!join) return `unexpected "${s.slice(i, i + 10)}"`;
      if (join[1] === 'or') groups.push((clauses = []));
      i += join[0].length;
    }
    const fields = new Set(groups.flat().map((c) => c.field));
    if (groups.length > 1 && fields.size > 1) return `'or' is supported only between conditions on one property (${[...fields].join(', ')})`;
    return (c: Record<string, unknown>) => groups.some((g) => g.every(({ field, test }) => test(c[field])));
  }

  // ---- control ------------------------------------------------------------------------------

  /** Expire every CSRF token now (the next modifying request gets 403 Required). */
  expireCsrf(): void {
    for (const s of this.sessions.values()) s.tokenExpiresAt = 0;
  }

  injectErrors(status: number, count: number, opts: { retryAfter?: number; body?: unknown; kind?: 'get' | 'post' | 'any'; mode?: InjectedError['mode']; lang?: string } = {}): void {
    this.faults.errors.push({ status, count, retryAfter: opts.retryAfter, body: opts.body, kind: opts.kind ?? 'any', mode: opts.mode, lang: opts.lang });
  }

  /** The next `count` creates: committed after `commitAfterMs`, answered after `answerAfterMs` (or the connection dropped). */
  slowCommit(opts: { count?: number; commitAfterMs?: number; answerAfterMs?: number; drop?: boolean }): void {
    this.faults.slowCommits.push({ count: opts.count ?? 1, commitAfterMs: opts.commitAfterMs ?? 0, answerAfterMs: opts.answerAfterMs ?? 0, drop: !!opts.drop });
  }

  /**
   * Change a customer as a C4C user would (rename, set obsolete with LifeCycleStatusCode '4'); with
   * an event consumer configured, C4C posts the Updated event (the changed fields as its Changes).
   */
  update(objectId: string, fields: Record<string, unknown>): Customer | undefined {
    const c = this.customers.find((x) => x.ObjectID === objectId);
    if (!c) return undefined;
    const changes: FieldChange[] = Object.entries(fields)
      .filter(([k, v]) => k !== 'ObjectID' && k !== 'CustomerID' && (c[k] ?? '') !== v)
      .map(([k, v]) => ({ field: k, old: c[k] ?? '', new: v }));
    Object.assign(c, fields, { ObjectID: c.ObjectID, CustomerID: c.CustomerID, ChangedOn: `/Date(${Date.now()})/` });
    if ('FirstName' in fields || 'LastName' in fields) c.FormattedName = [c.FirstName, c.LastName].filter(Boolean).join(' ');
    if (changes.length) {
      for (const l of this.onUpdate) l(c, changes);
      this.events.notify(c.ObjectID, 'Updated', changes);
    }
    return c;
  }

  reset(): void {
    this.sessions.clear();
    this.customers.length = 0;
    this.identifications.length = 0;
    this.social.reset();
    this.nextCustomerId = 1000000;
    this.faults.latencyMs = 0;
    this.faults.perOperationMs = null;
    this.faults.outageUntil = 0;
    this.faults.errors = [];
    this.faults.slowCommits = [];
    this.faults.technicalUser = false;
    this.counters = C4CSimulator.zero();
    this.metadataQueries = [];
    this.opts.metadataFilter = this.metadataFilterAsBuilt;
    this.events.reset();
  }

  stats() {
    return { ...this.counters, customers: this.customers.length, identifications: this.identifications.length, sessions: this.sessions.size };
  }

  private async control(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const what = url.pathname.slice('/__sim/c4c/'.length);
    const body = req.method === 'POST' ? JSON.parse((await readBody(req)) || '{}') : {};
    const social = await this.social.control(String(req.method), what, body);
    if (social) return sendJson(res, social.status, social.body);
    switch (`${req.method} ${what}`) {
      case 'GET stats':
        return sendJson(res, 200, this.stats());
      case 'GET customers':
        return sendJson(res, 200, this.customers);
      case 'POST faults':
        // {latencyMs, perOperationMs (per operation inside a $batch; null: latencyMs, what the operation costs alone), outageMs, errors: [{status, count, kind, retryAfter, mode: status|redirect|login|empty-code, lang: de|zh}],
        //  slowCommit: {count, commitAfterMs, answerAfterMs, drop}, technicalUser: true|false}
        if (body.latencyMs !== undefined) this.faults.latencyMs = Number(body.latencyMs);
        if (body.perOperationMs !== undefined) this.faults.perOperationMs = body.perOperationMs === null ? null : Number(body.perOperationMs);
        if (body.slowCommit) this.slowCommit(body.slowCommit);
        if (body.technicalUser !== undefined) this.faults.technicalUser = body.technicalUser === true;
        if (body.outageMs !== undefined) this.faults.outageUntil = Date.now() + Number(body.outageMs);
        if (body.errors) for (const e of [].concat(body.errors)) this.injectErrors(Number((e as InjectedError).status), Number((e as InjectedError).count ?? 1), e);
        return sendJson(res, 200, this.faults);
      case 'POST expire-csrf':
        this.expireCsrf();
        return sendJson(res, 200, { ok: true });
      case 'POST config':
        if (body.csrfLifetime !== undefined) this.opts.csrfLifetime = Number(body.csrfLifetime);
        if (Array.isArray(body.extensionFields)) this.setExtensionFields(body.extensionFields.map(String));
        if (METADATA_FILTER_MODES.includes(body.metadataFilter)) this.opts.metadataFilter = body.metadataFilter;
        return sendJson(res, 200, { csrfLifetime: this.opts.csrfLifetime, extensionFields: this.extensionFields, metadataFilter: this.opts.metadataFilter });
      case 'GET identifications':
        return sendJson(res, 200, this.identifications);
      case 'POST update': {
        const c = this.update(String(body.objectId), body.fields ?? {});
        return c ? sendJson(res, 200, c) : sendJson(res, 404, { error: 'no such customer' });
      }
      case 'GET events':
        return sendJson(res, 200, { config: this.events.view(), counters: this.events.counters });
      case 'POST events':
        // {endpoint, username, password, shape: event|cloudevents|feed, repeat: N, reorder: N (post N at a time, last first), holdMs, enhanced, flush: true}
        try {
          const config = this.events.configure(body);
          if (body.flush === true) this.events.flush();
          return sendJson(res, 200, config);
        } catch (err) {
          return sendJson(res, 400, { error: (err as Error).message });
        }
      case 'POST reset':
        this.reset();
        return sendJson(res, 200, { ok: true });
      default:
        return sendJson(res, 404, { error: `unknown control ${req.method} ${what}` });
    }
  }
}
