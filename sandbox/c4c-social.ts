/**
 * The C4C simulator's social media part (sandbox/c4c.ts hands it every OData operation first):
 * SocialMediaUserProfileCollection (deep insert of UserInformation and BupaReference), the
 * function import GetSocialMediaUserProfile, SocialMediaActivityCollection with its
 * attachment folder, a ticket (ServiceRequestCollection) created from every root activity with the
 * document reference of type 1607, children threaded on their root, and the agent's reply: the
 * simulator POSTs it to the mashup URL exactly as C4C does (form `content=<JSON>`, Basic).
 *
 * Like the rest of the sandbox it imports nothing from lib/.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { URL } from 'node:url';

type Row = Record<string, unknown>;

export interface SocialOperationResult {
  status: number;
  headers?: Record<string, string>;
  body: string;
  drop?: boolean;
}

export interface SimAttachment {
  Name: string;
  MimeType: string;
  Binary: string;
  CategoryCode: string;
  TypeCode: string;
}

export interface SimActivity extends Row {
  ObjectID: string;
  ID: string;
  SocialMediaMessageID: string;
  SocialMediaUserProfileUUID: string;
  RootSocialMediaActivityUUID: string;
  ParentSocialMediaActivityUUID: string;
  InitiatorCode: string;
  Text: string;
  CreationDateTime: string;
  attachments: SimAttachment[];
  /** an agent's note (never sent to the follower) */
  private?: boolean;
}

export interface SimProfile extends Row {
  ObjectID: string;
  SocialMediaUserCategoryCode: string;
  info: Row[];
  bupa: Row[];
}

export interface SimTicket extends Row {
  ObjectID: string;
  ID: string;
  Name: string;
  rootActivityUUID: string;
  CreationDateTime: string;
}

export interface MashupTarget {
  url: string;
  username: string;
  password: string;
}

const PROFILE_FIELDS = new Set(['SocialMediaUserCategoryCode', 'SocialMediaUserProfileUserInformation', 'SocialMediaUserProfileBupaReference']);
const INFO_FIELDS = new Set(['SocialMediaChannelCode', 'ExternalPartyAccountID', 'SocialMediaUserAccountID', 'SocialMediaUserName']);
const ACTIVITY_FIELDS = new Set(['CategoryCode', 'InitiatorCode', 'SocialMediaChannelCode', 'SocialMediaActivityProviderID', 'SocialMediaMessageID', 'SocialMediaUserProfileUUID', 'SocialMediaMessageAuthor', 'Text', 'ParentSocialMediaActivityUUID', 'SocialMediaActivityAttachmentFolder']);
const ATTACHMENT_FIELDS = new Set(['Binary', 'MimeType', 'Name', 'CategoryCode', 'TypeCode']);

const hex = (): string => randomBytes(16).toString('hex').toUpperCase();
const uuidOf = (id: string): string => id.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
const keyOf = (uuid: string): string => uuid.replace(/-/g, '').toUpperCase();
const s = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

/** `A eq 'x' and B eq guid'y'` (the only shape the social sets need here); a string = the problem. */
function parseAndFilter(filter: string): ((r: Row) => boolean) | string {
  const clauses: { field: string; value: string; guid: boolean }[] = [];
  const re = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s+eq\s+(guid)?'((?:[^']|'')*)'\s*(and\s+|$)/;
  let rest = filter;
  while (rest.trim()) {
    const m = re.exec(rest);
    if (!m) return `expected <Property> eq '<value>' in "${rest.slice(0, 30)}"`;
    clauses.push({ field: m[1], value: m[3].replace(/''/g, "'"), guid: !!m[2] });
    rest = rest.slice(m[0].length);
  }
  return (r) => clauses.every((c) => (c.guid ? keyOf(s(r[c.field])) === keyOf(c.value) : s(r[c.field]) === c.value));
}

export class C4CSocialSim {
  readonly profiles: SimProfile[] = [];
  readonly activities: SimActivity[] = [];
  readonly tickets: SimTicket[] = [];
  readonly references: Row[] = [];
  /** the next `dropCreates` activity creates: committed, then the connection is dropped */
  readonly faults = { dropCreates: 0 };
  counters = C4CSocialSim.zero();
  /** where an agent's reply goes (the mashup REST service assigned to the channel) */
  mashup: MashupTarget = { url: 'http://127.0.0.1:1880/c4c/agent-reply', username: '', password: '' };
  private nextActivity = 59161;
  private nextTicket = 1034190;
  private seq = 0;
  readonly onChange = new Set<(what: { type: 'activity' | 'ticket' | 'profile'; row: Row }) => void>();

  static zero() {
    return { profileLookups: 0, profilesCreated: 0, activitiesCreated: 0, ticketsCreated: 0, activityQueries: 0, repliesPosted: 0 };
  }

  reset(): void {
    this.profiles.length = 0;
    this.activities.length = 0;
    this.tickets.length = 0;
    this.references.length = 0;
    this.faults.dropCreates = 0;
    this.counters = C4CSocialSim.zero();
    this.nextActivity = 59161;
    this.nextTicket = 1034190;
  }

  private now(): string {
    // strictly increasing, so that "the latest activity" is well defined
    this.seq = Math.max(this.seq + 1, Date.now());
    return `/Date(${this.seq})/`;
  }

  private answer(status: number, body: unknown, headers: Record<string, string> = {}): SocialOperationResult {
    return { status, headers, body: JSON.stringify(body) };
  }

  private error(status: number, message: string): SocialOperationResult {
    return this.answer(status, { error: { code: 'SY/530', message: { lang: 'en', value: message } } });
  }

  private presentProfile(p: SimProfile, base: string): Row {
    const uri = `${base}/SocialMediaUserProfileCollection('${p.ObjectID}')`;
    const { info: _info, bupa: _bupa, ...rest } = p;
    return { __metadata: { uri, type: 'c4codata.SocialMediaUserProfile' }, ...rest, SocialMediaUserProfileUserInformation: { __deferred: { uri: `${uri}/SocialMediaUserProfileUserInformation` } } };
  }

  private presentActivity(a: SimActivity, base: string, select?: string[]): Row {
    const uri = `${base}/SocialMediaActivityCollection('${a.ObjectID}')`;
    const { attachments: _att, private: _p, ...rest } = a;
    const full: Row = { __metadata: { uri, type: 'c4codata.SocialMediaActivity' }, ...rest, SocialMediaActivityAttachmentFolder: { __deferred: { uri: `${uri}/SocialMediaActivityAttachmentFolder` } } };
    if (!select) return full;
    const out: Row = { __metadata: full.__metadata };
    for (const f of select) if (f in full) out[f] = full[f];
    return out;
  }

  private list(rows: Row[], url: URL, present: (r: Row) => Row): SocialOperationResult {
    let out = rows.slice();
    const filter = url.searchParams.get('$filter');
    if (filter !== null) {
      const pred = parseAndFilter(filter);
      if (typeof pred === 'string') return this.error(400, `Invalid filter: ${pred}`);
      out = out.filter(pred);
    }
    const orderby = url.searchParams.get('$orderby');
    if (orderby) {
      const [field, dir] = orderby.trim().split(/\s+/);
      const time = (r: Row): number => Number(/\((\d+)/.exec(s(r[field]))?.[1] ?? 0);
      out.sort((a, b) => (dir === 'desc' ? time(b) - time(a) : time(a) - time(b)));
    }
    const top = url.searchParams.has('$top') ? Number(url.searchParams.get('$top')) : 1000;
    return this.answer(200, { d: { results: out.slice(0, top).map(present) } });
  }

  /** Answer an OData operation on the social sets, or undefined when it is not one of ours. */
  operation(method: string, rest: string, url: URL, bodyText: string, base: string): SocialOperationResult | undefined {
    const select = url.searchParams.get('$select')?.split(',').map((x) => x.trim()).filter(Boolean);
    if (rest === 'GetSocialMediaUserProfile' && method === 'GET') {
      this.counters.profileLookups++;
      const literal = /^'((?:[^']|'')*)'$/.exec(url.searchParams.get('SocialMediaUserAccountID') ?? '');
      if (!literal) return this.error(400, "Parameter SocialMediaUserAccountID is missing or not a string literal ('...')");
      const account = literal[1].replace(/''/g, "'");
      return this.answer(200, { d: { results: this.profiles.filter((p) => p.info.some((i) => i.SocialMediaUserAccountID === account)).map((p) => this.presentProfile(p, base)) } });
    }
    const profileNav = /^SocialMediaUserProfileCollection\('([^']*)'\)(?:\/(SocialMediaUserProfileUserInformation))?$/.exec(rest);
    if (profileNav && method === 'GET') {
      const p = this.profiles.find((x) => x.ObjectID === profileNav[1]);
      if (!p) return this.error(404, 'Resource not found for segment');
      return profileNav[2] ? this.answer(200, { d: { results: p.info } }) : this.answer(200, { d: { results: this.presentProfile(p, base) } });
    }
    if (rest === 'SocialMediaUserProfileCollection' && method === 'POST') return this.createProfile(bodyText, base);
    if (rest === 'SocialMediaActivityCollection' && method === 'GET') {
      this.counters.activityQueries++;
      return this.list(this.activities, url, (r) => this.presentActivity(r as SimActivity, base, select));
    }
    if (rest === 'SocialMediaActivityCollection' && method === 'POST') return this.createActivity(bodyText, base);
    if (rest === 'ServiceRequestCollection' && method === 'GET') {
      return this.list(this.tickets, url, (r) => {
        const { rootActivityUUID: _r, ...t } = r as SimTicket;
        return { __metadata: { type: 'c4codata.ServiceRequest' }, ...t };
      });
    }
    if (rest === 'ServiceRequestBusinessTransactionDocumentReferenceCollection' && method === 'GET') return this.list(this.references, url, (r) => r);
    return undefined;
  }

  private parse(bodyText: string): Row | string {
    try {
      const body = JSON.parse(bodyText) as unknown;
      if (body && typeof body === 'object' && !Array.isArray(body)) return body as Row;
    } catch {
      // below
    }
    return 'Invalid payload: the body is not a JSON object';
  }

  private unknown(body: Row, allowed: Set<string>): string | undefined {
    return Object.keys(body).find((k) => k !== '__metadata' && !allowed.has(k));
  }

  private createProfile(bodyText: string, base: string): SocialOperationResult {
    const body = this.parse(bodyText);
    if (typeof body === 'string') return this.error(400, body);
    const bad = this.unknown(body, PROFILE_FIELDS);
    if (bad) return this.error(400, `Property '${bad}' is invalid`);
    const info = body.SocialMediaUserProfileUserInformation;
    if (!Array.isArray(info) || !info.length) return this.error(400, 'SocialMediaUserProfileUserInformation is mandatory');
    for (const i of info as Row[]) {
      const badInfo = this.unknown(i, INFO_FIELDS);
      if (badInfo) return this.error(400, `Property '${badInfo}' is invalid`);
      if (!s(i.SocialMediaChannelCode) || !s(i.SocialMediaUserAccountID)) return this.error(400, 'Property SocialMediaChannelCode and SocialMediaUserAccountID are mandatory');
    }
    const p: SimProfile = { ObjectID: hex(), SocialMediaUserCategoryCode: s(body.SocialMediaUserCategoryCode), info: (info as Row[]).map((i) => ({ ...i })), bupa: Array.isArray(body.SocialMediaUserProfileBupaReference) ? (body.SocialMediaUserProfileBupaReference as Row[]) : [], CreationDateTime: this.now() };
    this.profiles.push(p);
    this.counters.profilesCreated++;
    for (const l of this.onChange) l({ type: 'profile', row: p });
    return this.answer(201, { d: { results: this.presentProfile(p, base) } }, { location: `${base}/SocialMediaUserProfileCollection('${p.ObjectID}')` });
  }

  private createActivity(bodyText: string, base: string): SocialOperationResult {
    const body = this.parse(bodyText);
    if (typeof body === 'string') return this.error(400, body);
    const bad = this.unknown(body, ACTIVITY_FIELDS);
    if (bad) return this.error(400, `Property '${bad}' is invalid`);
    for (const f of ['CategoryCode', 'InitiatorCode', 'SocialMediaChannelCode', 'SocialMediaMessageID', 'SocialMediaUserProfileUUID']) {
      if (!s(body[f])) return this.error(400, `Property '${f}' is mandatory`);
    }
    if (typeof body.SocialMediaMessageID !== 'string') return this.error(400, 'Property SocialMediaMessageID must be a string');
    if (!this.profiles.some((p) => p.ObjectID === keyOf(s(body.SocialMediaUserProfileUUID)))) return this.error(400, `Social media user profile ${s(body.SocialMediaUserProfileUUID)} does not exist`);
    const attachments = body.SocialMediaActivityAttachmentFolder === undefined ? [] : body.SocialMediaActivityAttachmentFolder;
    if (!Array.isArray(attachments)) return this.error(400, 'SocialMediaActivityAttachmentFolder must be a list');
    for (const a of attachments as Row[]) {
      const badA = this.unknown(a, ATTACHMENT_FIELDS);
      if (badA) return this.error(400, `Property '${badA}' is invalid`);
      if (!s(a.Binary) || !s(a.Name) || !s(a.MimeType)) return this.error(400, 'An attachment needs Binary, Name and MimeType');
    }
    const parent = s(body.ParentSocialMediaActivityUUID);
    const parentRow = parent ? this.activities.find((a) => keyOf(a.ObjectID) === keyOf(parent)) : undefined;
    if (parent && !parentRow) return this.error(400, `Parent activity ${parent} does not exist`);
    const { SocialMediaActivityAttachmentFolder: _f, ...fields } = body;
    const a = this.commitActivity({ ...fields, attachments: attachments as SimAttachment[] } as unknown as Partial<SimActivity>, parentRow);
    const result = this.answer(201, { d: { results: this.presentActivity(a, base) } }, { location: `${base}/SocialMediaActivityCollection('${a.ObjectID}')` });
    if (this.faults.dropCreates > 0) {
      this.faults.dropCreates--;
      return { ...result, drop: true };
    }
    return result;
  }

  private commitActivity(fields: Partial<SimActivity>, parentRow: SimActivity | undefined): SimActivity {
    const id = hex();
    const root = parentRow ? parentRow.RootSocialMediaActivityUUID : uuidOf(id);
    const a: SimActivity = {
      SocialMediaChannelCode: '', SocialMediaActivityProviderID: '', SocialMediaMessageAuthor: '', CategoryCode: '001', Text: '',
      ...fields,
      ObjectID: id,
      ID: String(this.nextActivity++),
      SocialMediaMessageID: s(fields.SocialMediaMessageID),
      SocialMediaUserProfileUUID: s(fields.SocialMediaUserProfileUUID),
      InitiatorCode: s(fields.InitiatorCode),
      RootSocialMediaActivityUUID: root,
      ParentSocialMediaActivityUUID: parentRow ? root : '',
      CreationDateTime: this.now(),
      attachments: fields.attachments ?? [],
    };
    this.activities.push(a);
    this.counters.activitiesCreated++;
    if (!parentRow) {
      // C4C creates an (empty) ticket from a root activity, linked by a document reference 1607.
      const t: SimTicket = { ObjectID: hex(), ID: String(this.nextTicket++), Name: a.Text.slice(0, 40), rootActivityUUID: root, CreationDateTime: a.CreationDateTime };
      this.tickets.push(t);
      this.references.push({ ObjectID: hex(), ParentObjectID: t.ObjectID, ID: a.ID, TypeCode: '1607', TypeCodeText: 'Social Media Activity' });
      this.counters.ticketsCreated++;
      for (const l of this.onChange) l({ type: 'ticket', row: t });
    }
    for (const l of this.onChange) l({ type: 'activity', row: a });
    return a;
  }

  /** Tickets, newest first, each with its thread in creation order (attachments included). */
  conversations(): Row[] {
    return this.tickets.slice().reverse().map((t) => {
      const thread = this.activities.filter((a) => a.RootSocialMediaActivityUUID === t.rootActivityUUID);
      const profile = this.profiles.find((p) => thread[0] && p.ObjectID === keyOf(thread[0].SocialMediaUserProfileUUID));
      return { ...t, follower: profile?.info.map((i) => i.SocialMediaUserAccountID)[0] ?? '', thread };
    });
  }

  /**
   * An agent answers a ticket: the reply becomes an activity of the thread, and C4C calls the
   * mashup: POST `content=<JSON>` (form), Basic. `originalId: false` sends an empty original_id
   * (as SAP's own sample shows), so the ticket must lead to the follower.
   */
  async agentReply(opts: { ticketId: string; text: string; private?: boolean; author?: string; originalId?: boolean; to?: Partial<MashupTarget> }): Promise<{ status: number; body: string; sent: Row }> {
    const ticket = this.tickets.find((t) => t.ID === opts.ticketId);
    if (!ticket) throw new Error(`no ticket ${opts.ticketId}`);
    const thread = this.activities.filter((a) => a.RootSocialMediaActivityUUID === ticket.rootActivityUUID);
    const lastCustomer = thread.filter((a) => a.InitiatorCode === '2').pop();
    const root = thread[0];
    const reply = this.commitActivity({
      InitiatorCode: '1', Text: opts.text, SocialMediaUserProfileUUID: root?.SocialMediaUserProfileUUID ?? '', SocialMediaChannelCode: s(root?.SocialMediaChannelCode),
      SocialMediaMessageID: '', SocialMediaMessageAuthor: opts.author ?? 'Sandbox Agent', private: !!opts.private,
    }, root);
    const content = {
      original_id: opts.originalId === false ? '' : lastCustomer?.SocialMediaMessageID ?? '',
      sma_id: reply.ID,
      service_req_no: ticket.ID,
      author_name: opts.author ?? 'Sandbox Agent',
      author_email: 'agent@sandbox.invalid',
      sma_create_datetime: new Date(Number(/\((\d+)/.exec(reply.CreationDateTime)?.[1])).toISOString().replace(/\.\d+Z$/, 'Z'),
      private_ind: opts.private ? 'TRUE' : 'FALSE',
      text: opts.text,
    };
    const target = { ...this.mashup, ...(opts.to ?? {}) };
    const answer = await this.postForm(target, `content=${encodeURIComponent(JSON.stringify(content))}`);
    this.counters.repliesPosted++;
    return { ...answer, sent: content };
  }

  /** POST the mashup exactly once (C4C's retry behaviour is not published: the sandbox does not retry). */
  postForm(target: MashupTarget, form: string): Promise<{ status: number; body: string }> {
    const url = new URL(target.url);
    const headers: Record<string, string | number> = { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(form), 'User-Agent': 'SAP C4C mashup (sandbox)' };
    if (target.username || target.password) headers.Authorization = `Basic ${Buffer.from(`${target.username}:${target.password}`, 'utf8').toString('base64')}`;
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(url, { method: 'POST', headers, timeout: 30000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('mashup call timed out')));
      req.on('error', reject);
      req.end(form);
    });
  }

  /** The control API under /__sim/c4c/social/…; undefined when `what` is not ours. */
  async control(method: string, what: string, body: Row): Promise<{ status: number; body: unknown } | undefined> {
    switch (`${method} ${what}`) {
      case 'GET social/profiles':
        return { status: 200, body: this.profiles };
      case 'GET social/activities':
        return { status: 200, body: this.activities };
      case 'GET social/tickets':
        return { status: 200, body: this.conversations() };
      case 'GET social/stats':
        return { status: 200, body: { ...this.counters, profiles: this.profiles.length, activities: this.activities.length, tickets: this.tickets.length } };
      case 'POST social/faults':
        if (body.dropCreates !== undefined) this.faults.dropCreates = Number(body.dropCreates);
        return { status: 200, body: this.faults };
      case 'POST social/mashup':
        for (const k of ['url', 'username', 'password'] as const) if (typeof body[k] === 'string') this.mashup[k] = body[k] as string;
        return { status: 200, body: { url: this.mashup.url, basic: !!(this.mashup.username || this.mashup.password) } };
      case 'POST social/reply': {
        try {
          const r = await this.agentReply({ ticketId: s(body.ticketId), text: s(body.text), private: body.private === true, author: body.author ? s(body.author) : undefined, originalId: body.originalId === false ? false : undefined, to: body.to as Partial<MashupTarget> | undefined });
          return { status: 200, body: r };
        } catch (err) {
          return { status: 502, body: { error: (err as Error).message } };
        }
      }
      default:
        return undefined;
    }
  }
}
