/**
 * Conversations through C4C's social media objects (SAP's WeChat accelerator path):
 * - a Social Media User Profile per follower and channel (`SocialMediaUserAccountID` = OpenID),
 *   found with the function import `GetSocialMediaUserProfile` (C4C's guidance: do not `$filter`
 *   profiles), created once under a per-follower lock (a Redis lock: once across instances), kept
 *   in the tenant's key-value store (Redis: shared, so no instance reads a known profile again);
 * - one Social Media Activity per message, `SocialMediaMessageID` = the 64-bit `MsgId` as a
 *   string; a message within the thread window of the follower's previous one is a child of its
 *   root (C4C keeps it on the same ticket), otherwise a new root (a new ticket);
 * - media attached in the same create (`SocialMediaActivityAttachmentFolder`);
 * - after a create whose outcome is unknown (timeout, reset, 502/504) the activity is looked up by
 *   `SocialMediaMessageID` over a settle period before anything is sent again;
 * - the agent's reply (the mashup's `content=<JSON>` form, or JSON) and the way back from it to
 *   the follower: `original_id` → activity → profile → OpenID, or the ticket `service_req_no` →
 *   its document reference of type 1607 → the root activity → profile; each step kept in the
 *   key-value store (a stored message's ID and a ticket lead to the profile, a profile to its OpenID).
 */
import type { KeyValueStore, Locks } from '../store/types';
import { MemoryKeyValueStore, MemoryLocks } from '../store/memory';
import { sleep } from '../util/backoff';
import { KeyedSerializer } from '../util/limiter';
import { C4CClient } from './client';
import { odataString, odataValue } from './odata';
import { C4CError } from './errors';

const PROFILE_SET = 'SocialMediaUserProfileCollection';
const ACTIVITY_SET = 'SocialMediaActivityCollection';
const PROFILE_FUNCTION = 'GetSocialMediaUserProfile';
const TICKET_SET = 'ServiceRequestCollection';
const TICKET_REFERENCE_SET = 'ServiceRequestBusinessTransactionDocumentReferenceCollection';
/** The document reference type that links a ticket to its social media activity. */
const ACTIVITY_REFERENCE_TYPE = '1607';

/** The WeChat message types that are a follower writing (events are not). */
export const USER_MESSAGE_TYPES: ReadonlySet<string> = new Set(['text', 'image', 'voice', 'video', 'shortvideo', 'location', 'link']);
/** The types whose MediaId is fetched and attached. */
export const MEDIA_TYPES: ReadonlySet<string> = new Set(['image', 'voice', 'video', 'shortvideo']);

export interface SocialChannel {
  /** the tenant's WeChat channel code (SocialMediaChannelCode, e.g. 008 or a custom 9xx) */
  channelCode: string;
  /** SocialMediaActivityProviderID: the channel ID */
  providerId: string;
}

export interface Attachment {
  bytes: Buffer;
  mimeType: string;
  name: string;
}

export interface Profile {
  /** ObjectID (32 hex) */
  profileId: string;
  /** the ObjectID as an 8-4-4-4-12 UUID */
  uuid: string;
}

export interface MessageInput {
  /** the WeChat message as wechat-in outputs it (WeChat's field names, string values) */
  message: Record<string, unknown>;
  openid: string;
  channel: SocialChannel;
  /** a message within this many ms of the follower's previous one joins its thread */
  threadWindowMs: number;
  /** the follower's customer, to bind a new profile to (BusinessPartnerUUID) */
  customerUUID?: string;
  /** taken from the work queue after another instance died with it: look the activity up before creating */
  recovered?: boolean;
  /** fetches the message's media (called inside the follower's turn); a `note` when it cannot be attached */
  attachment?: () => Promise<Attachment | { note: string } | undefined>;
}

export interface MessageResult {
  profileId: string;
  activityId: string | undefined;
  activityUUID: string;
  rootActivityUUID: string;
  /** false: the activity existed already (a recovered or repeated message) */
  created: boolean;
  profileCreated: boolean;
  /** why the media is not attached (gone, too big), when it is not */
  note?: string;
}

export interface AgentReply {
  originalId: string;
  activityId: string;
  ticketId: string;
  authorName: string;
  authorEmail: string;
  createdAt: string;
  private: boolean;
  text: string;
}

export interface SocialServiceOptions {
  /** the per-follower lock (per tenant); a Redis one serialises across instances */
  locks?: Locks;
  /**
   * The tenant's key-value store (default: this service's own memory): profiles, OpenIDs and each
   * follower's thread. A shared one (Redis) serves every instance, and the thread it holds was
   * written under the follower's lock, in send order.
   */
  cache?: KeyValueStore;
  /** how long to look for a create whose outcome is unknown before sending it again (default 2 × the client timeout) */
  settleMs?: number;
  timeoutMs?: number;
}

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
const DAY_MS = 24 * 3600 * 1000;

/** 32 hex digits (C4C's ObjectID) as an 8-4-4-4-12 UUID; a UUID stays as it is. */
export function toUuid(id: string): string {
  const hex = id.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return id;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A UUID as C4C's ObjectID key: 32 hex digits, upper case. */
export function toObjectId(uuid: string): string {
  return uuid.replace(/-/g, '').toUpperCase();
}

const sameId = (a: unknown, b: unknown): boolean => toObjectId(str(a)) === toObjectId(str(b)) && str(a) !== '';

/** `/Date(1700000000000)/` or an ISO date as ms; NaN when unreadable. */
function c4cTime(value: unknown): number {
  const m = /\/Date\((-?\d+)/.exec(str(value));
  return m ? Number(m[1]) : Date.parse(str(value));
}

/** The activity's `Text` for a message, by type; `note` (why the media is missing) appended. */
export function activityText(message: Record<string, unknown>, note?: string): string {
  const m = (k: string): string => str(message[k]);
  let text: string;
  switch (m('MsgType')) {
    case 'text': text = m('Content'); break;
    case 'voice': text = m('Recognition') || '[voice]'; break;
    case 'location': text = `[location] ${m('Label')} (${m('Location_X')}, ${m('Location_Y')})`.replace(/\s+\(/, ' ('); break;
    case 'link': text = [`[link] ${m('Title')}`, m('Description'), m('Url')].filter((s) => s.trim()).join('\n'); break;
    case 'image': text = ['[image]', m('PicUrl')].filter(Boolean).join(' '); break;
    case 'video': case 'shortvideo': text = `[${m('MsgType')}]`; break;
    default: text = `[${m('MsgType') || 'message'}]`;
  }
  return note ? `${text}\n[${note}]` : text;
}

/** The message's key in C4C: the 64-bit MsgId as it came (a string), else OpenID + CreateTime. */
function messageIdOf(message: Record<string, unknown>): string {
  const id = str(message.MsgId).trim();
  return id || `${str(message.FromUserName)}-${str(message.CreateTime)}`;
}

export function profileBody(openid: string, channel: SocialChannel, customerUUID?: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    SocialMediaUserCategoryCode: '02',
    SocialMediaUserProfileUserInformation: [{
      SocialMediaChannelCode: channel.channelCode,
      ...(channel.providerId ? { ExternalPartyAccountID: channel.providerId } : {}),
      SocialMediaUserAccountID: openid,
      SocialMediaUserName: openid,
    }],
  };
  if (customerUUID) body.SocialMediaUserProfileBupaReference = [{ BusinessPartnerCategoryCode: '1', BusinessPartnerRoleCode: 'BUP001', BusinessPartnerUUID: toUuid(customerUUID) }];
  return body;
}

export function activityBody(input: { message: Record<string, unknown>; openid: string; channel: SocialChannel; profileUUID: string; parentUUID?: string; attachment?: Attachment; note?: string }): Record<string, unknown> {
  const body: Record<string, unknown> = {
    CategoryCode: '001',
    InitiatorCode: '2',
    SocialMediaChannelCode: input.channel.channelCode,
    SocialMediaActivityProviderID: input.channel.providerId,
    SocialMediaMessageID: messageIdOf(input.message),
    SocialMediaUserProfileUUID: input.profileUUID,
    SocialMediaMessageAuthor: input.openid,
    Text: activityText(input.message, input.note),
  };
  if (input.parentUUID) body.ParentSocialMediaActivityUUID = input.parentUUID;
  if (input.attachment) {
    body.SocialMediaActivityAttachmentFolder = [{
      Binary: input.attachment.bytes.toString('base64'),
      MimeType: input.attachment.mimeType,
      Name: input.attachment.name,
      CategoryCode: '2',
      TypeCode: '10001',
    }];
  }
  return body;
}

/** The root a message joins: the previous message's root when it came within the window, else none (a new root). */
export function threadParent(previous: { at: number; root: string } | undefined, at: number, windowMs: number): string | undefined {
  if (!previous || !previous.root) return undefined;
  return at - previous.at <= windowMs && at >= previous.at - windowMs ? previous.root : undefined;
}

// ---- the agent's reply ---------------------------------------------------------------------

const REPLY_FIELDS = ['original_id', 'sma_id', 'service_req_no', 'author_name', 'author_email', 'sma_create_datetime', 'private_ind', 'text'];

function jsonObject(text: string): Record<string, unknown> | undefined {
  for (const candidate of [text, (() => { try { return decodeURIComponent(text); } catch { return ''; } })()]) {
    try {
      const v = JSON.parse(candidate) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // next candidate
    }
  }
  return undefined;
}

/**
 * The mashup's body: a form `content=<JSON>` (the JSON possibly percent-escaped once more), or the
 * same JSON as `application/json`; already parsed by Node-RED's http in (an object) or raw (a
 * string or Buffer). `{reason}` when it is neither, has no `text`, or neither `original_id` nor
 * `service_req_no`.
 */
export function parseAgentReply(body: unknown, contentType = ''): AgentReply | { reason: string } {
  let fields: Record<string, unknown> | undefined;
  let raw = body;
  if (Buffer.isBuffer(raw)) raw = raw.toString('utf8');
  if (typeof raw === 'string') {
    const text = raw.trim();
    if (/x-www-form-urlencoded/i.test(contentType) || /^content=/.test(text)) {
      const content = new URLSearchParams(text).get('content');
      fields = content === null ? undefined : jsonObject(content);
    } else {
      fields = jsonObject(text);
    }
  } else if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const o = raw as Record<string, unknown>;
    if (typeof o.content === 'string' && o.text === undefined) fields = jsonObject(o.content);
    else if (o.content && typeof o.content === 'object' && !Array.isArray(o.content)) fields = o.content as Record<string, unknown>;
    else fields = o;
  }
  if (!fields || !REPLY_FIELDS.some((f) => f in fields!)) return { reason: 'the body is neither a form with content=<JSON> nor the JSON of a reply' };
  const f = (k: string): string => str(fields![k]).trim();
  const text = str(fields.text);
  if (!text.trim()) return { reason: 'the reply has no text' };
  if (!f('original_id') && !f('service_req_no')) return { reason: 'the reply has neither original_id nor service_req_no' };
  return {
    originalId: f('original_id'),
    activityId: f('sma_id'),
    ticketId: f('service_req_no'),
    authorName: f('author_name'),
    authorEmail: f('author_email'),
    createdAt: f('sma_create_datetime'),
    private: /^(true|x|1)$/i.test(f('private_ind')),
    text,
  };
}

// ---- the service ---------------------------------------------------------------------------

/** The follower's previous message: when (ms) and its thread root. */
interface Thread {
  at: number;
  root: string;
}

type Row = Record<string, unknown>;

/**
 * Profiles and activities of one tenant. One instance per c4c-config, shared by the nodes that
 * use it, so the caches (profile per follower, OpenID per profile, thread per follower) serve both
 * directions.
 */
export class SocialService {
  private readonly locks: Locks;
  private readonly settleMs: number;
  private readonly cache: KeyValueStore;
  /** per follower, in this process: messages go in the order they arrived */
  private readonly turns = new KeyedSerializer();
  readonly stats = { profileLookups: 0, profilesCreated: 0, activitiesCreated: 0, activitiesFound: 0, settleLookups: 0, threadReads: 0 };

  /** A cached value; a store that cannot be reached is a miss (C4C is asked instead). */
  private async recall(key: string): Promise<string | undefined> {
    try {
      return await this.cache.get(key);
    } catch {
      return undefined;
    }
  }

  /** Keep a value; a store that cannot be reached keeps nothing. */
  private async remember(key: string, value: string, ttlMs: number): Promise<void> {
    await this.cache.set(key, value, ttlMs).catch(() => undefined);
  }

  /** The follower's profile and the profile's OpenID, kept for a day. */
  private async rememberProfile(openid: string, channelCode: string, profileId: string): Promise<void> {
    await Promise.all([
      this.remember(`profile:${channelCode}:${openid}`, profileId, DAY_MS),
      this.remember(`openid:${channelCode}:${toObjectId(profileId)}`, openid, DAY_MS),
    ]);
  }

  constructor(private readonly client: C4CClient, opts: SocialServiceOptions = {}) {
    this.locks = opts.locks ?? new MemoryLocks();
    this.cache = opts.cache ?? new MemoryKeyValueStore();
    this.settleMs = opts.settleMs ?? 2 * (opts.timeoutMs ?? 30000);
  }

  /** The follower's profile on the channel (cached), or undefined. */
  async findProfile(openid: string, channelCode: string): Promise<Profile | undefined> {
    return (await this.profileFor(openid, channelCode))?.profile;
  }

  /** The profile, and whether it came from the key-value store (`fresh`: ask C4C in any case). */
  private async profileFor(openid: string, channelCode: string, fresh = false): Promise<{ profile: Profile; cached: boolean } | undefined> {
    const hit = fresh ? undefined : await this.recall(`profile:${channelCode}:${openid}`);
    if (hit) return { profile: { profileId: hit, uuid: toUuid(hit) }, cached: true };
    this.stats.profileLookups++;
    const res = await this.client.get(PROFILE_FUNCTION, { SocialMediaUserAccountID: odataString(openid) }, 'profile lookup');
    const rows = (Array.isArray(res.data) ? res.data : res.data && typeof res.data === 'object' ? [res.data] : []) as Row[];
    for (const row of rows) {
      const id = str(row.ObjectID);
      if (!id) continue;
      const info = await this.userInformation(row);
      if (info.some((i) => str(i.SocialMediaChannelCode) === channelCode && str(i.SocialMediaUserAccountID) === openid)) {
        await this.rememberProfile(openid, channelCode, id);
        return { profile: { profileId: id, uuid: toUuid(id) }, cached: false };
      }
    }
    return undefined;
  }

  /** The profile's user information rows: inline when C4C sent them, else read. */
  private async userInformation(profile: Row): Promise<Row[]> {
    const inline = profile.SocialMediaUserProfileUserInformation as { results?: unknown } | Row[] | undefined;
    const list = Array.isArray(inline) ? inline : inline && Array.isArray(inline.results) ? inline.results : undefined;
    if (list) return list as Row[];
    const res = await this.client.get(`${PROFILE_SET}(${odataString(toObjectId(str(profile.ObjectID)))})/SocialMediaUserProfileUserInformation`, {}, 'profile read');
    return (Array.isArray(res.data) ? res.data : []) as Row[];
  }

  /** The activity with this SocialMediaMessageID, or undefined. */
  async findActivity(messageId: string): Promise<Row | undefined> {
    const res = await this.client.get(ACTIVITY_SET, { $filter: `SocialMediaMessageID eq ${odataString(messageId)}`, $top: '2' }, 'activity lookup');
    return (Array.isArray(res.data) ? (res.data as Row[]) : []).find((r) => str(r.SocialMediaMessageID) === messageId);
  }

  /**
   * Store one message as an activity: the follower's turn (in arrival order in this process; the
   * lock across instances), the profile found or created, the thread, the media, the create.
   */
  storeMessage(input: MessageInput): Promise<MessageResult> {
    const key = `${input.channel.channelCode}\u0000${input.openid}`;
    // the media is fetched once, also when the create goes again (stale: see store)
    let media: ReturnType<NonNullable<MessageInput['attachment']>> | undefined;
    const once = input.attachment ? { ...input, attachment: () => (media ??= input.attachment!()) } : input;
    return this.turns.run(key, () => this.locks.withLock(`social\u0000${key}`, () => this.store(once), { ttlMs: 30000, waitMs: this.settleMs * 3 + 120000, signal: this.client.signal }));
  }

  /**
   * `fresh`: profile and thread read from C4C, not the key-value store. A create C4C refuses (400,
   * 404) with a kept profile or thread root goes once more that way: the kept one may be gone in
   * C4C (a profile deleted or merged, a root activity deleted), and would fail every message of the
   * follower, on every instance, until it expires.
   */
  private async store(input: MessageInput, fresh = false): Promise<MessageResult> {
    if (!input.openid.trim()) throw new C4CError('c4c-social-message needs the OpenID (msg.wechat.openid or payload.FromUserName)', 'C4C_INPUT');
    if (!input.channel.channelCode) throw new C4CError('c4c-social-message needs the WeChat channel code of the tenant (channelCode)', 'C4C_INPUT');
    const messageId = messageIdOf(input.message);
    let profileCreated = false;
    const found = await this.profileFor(input.openid, input.channel.channelCode, fresh);
    let profile = found?.profile;
    if (!profile) {
      profile = await this.createProfile(input);
      profileCreated = true;
    }
    if (input.recovered) {
      const existing = await this.findActivity(messageId);
      if (existing) return this.result(existing, profile, false, profileCreated);
    }
    const at = Number(input.message.CreateTime) > 0 ? Number(input.message.CreateTime) * 1000 : Date.now();
    const previous = profileCreated ? undefined : await this.thread(profile, fresh);
    const parent = threadParent(previous, at, input.threadWindowMs);
    const media = input.attachment ? await input.attachment() : undefined;
    const note = media && 'note' in media ? media.note : undefined;
    const body = activityBody({ message: input.message, openid: input.openid, channel: input.channel, profileUUID: profile.uuid, parentUUID: parent, attachment: media && !('note' in media) ? media : undefined, note });
    let entity: { row: Row; created: boolean };
    try {
      entity = await this.create(ACTIVITY_SET, body, 'activity create', () => this.findActivity(messageId));
    } catch (err) {
      const refused = err instanceof C4CError && !err.ambiguous && (err.statusCode === 400 || err.statusCode === 404);
      if (fresh || !refused || !(found?.cached || (parent && previous?.cached))) throw err;
      return this.store(input, true);
    }
    const result = this.result(entity.row, profile, entity.created, profileCreated, note);
    const thread: Thread = { at, root: result.rootActivityUUID };
    await Promise.all([
      this.remember(`thread:${profile.uuid}`, JSON.stringify(thread), Math.max(input.threadWindowMs, 60000) * 2),
      this.remember(`message:${messageId}`, profile.uuid, 7 * DAY_MS), // an agent's reply to it finds the follower
    ]);
    return result;
  }

  private result(row: Row, profile: Profile, created: boolean, profileCreated: boolean, note?: string): MessageResult {
    if (created) this.stats.activitiesCreated++;
    else this.stats.activitiesFound++;
    const activityUUID = toUuid(str(row.ObjectID));
    const root = str(row.RootSocialMediaActivityUUID) || str(row.ParentSocialMediaActivityUUID) || activityUUID;
    return { profileId: profile.profileId, activityId: str(row.ID) || undefined, activityUUID, rootActivityUUID: toUuid(root), created, profileCreated, ...(note ? { note } : {}) };
  }

  /** The follower's previous message: the key-value store (`cached`), else C4C (also when `fresh`). */
  private async thread(profile: Profile, fresh = false): Promise<(Thread & { cached?: boolean }) | undefined> {
    const hit = fresh ? undefined : await this.recall(`thread:${profile.uuid}`);
    try {
      const t = hit ? (JSON.parse(hit) as Thread) : undefined;
      if (t && typeof t.at === 'number' && typeof t.root === 'string') return { at: t.at, root: t.root, cached: true };
    } catch { /* unreadable: read C4C */ }
    this.stats.threadReads++;
    const res = await this.client.get(ACTIVITY_SET, {
      $filter: `SocialMediaUserProfileUUID eq ${odataValue('Edm.Guid', profile.uuid, 'the profile UUID').literal}`,
      $orderby: 'CreationDateTime desc',
      $top: '1',
      $select: 'ObjectID,RootSocialMediaActivityUUID,ParentSocialMediaActivityUUID,CreationDateTime',
    }, 'thread read');
    const row = (Array.isArray(res.data) ? (res.data as Row[]) : [])[0];
    if (!row) return undefined;
    const at = c4cTime(row.CreationDateTime);
    const root = str(row.RootSocialMediaActivityUUID) || str(row.ParentSocialMediaActivityUUID) || str(row.ObjectID);
    return Number.isFinite(at) ? { at, root: toUuid(root) } : undefined;
  }

  private async createProfile(input: MessageInput): Promise<Profile> {
    const entity = await this.create(PROFILE_SET, profileBody(input.openid, input.channel, input.customerUUID), 'profile create', async () => {
      const p = await this.findProfile(input.openid, input.channel.channelCode);
      return p ? { ObjectID: p.profileId } : undefined;
    });
    const id = str(entity.row.ObjectID);
    if (!id) throw new C4CError('C4C profile create failed: no ObjectID in the answer', 'C4C_NOT_ODATA');
    if (entity.created) this.stats.profilesCreated++;
    await this.rememberProfile(input.openid, input.channel.channelCode, id);
    return { profileId: id, uuid: toUuid(id) };
  }

  /**
   * POST; after an ambiguous failure, look the entity up (`find`) with growing pauses over the
   * settle period, send once more only if nothing appeared.
   */
  private async create(set: string, body: Row, what: string, find: () => Promise<Row | undefined>): Promise<{ row: Row; created: boolean }> {
    for (let attempt = 0; ; attempt++) {
      try {
        // creates of different followers may go into one $batch when they wait for a slot
        const res = await this.client.post(set, body, what, { combine: true });
        const row = res.data && typeof res.data === 'object' ? (res.data as Row) : {};
        return { row, created: true };
      } catch (err) {
        if (!(err instanceof C4CError) || !err.ambiguous) throw err;
        // a create of a $batch that failed as a whole: as many settle periods as the $batch had
        // creates; one C4C's complete $batch answer left unanswered: one lookup
        const settleMs = this.settleMs * (err.settlePeriods ?? 1);
        const started = Date.now();
        for (let i = 0; !this.client.isClosed; i++) {
          await sleep(Math.min(settleMs / 4, (settleMs / 16) * 2 ** i), this.client.signal);
          this.stats.settleLookups++;
          try {
            const row = await find();
            if (row) return { row, created: true };
          } catch (e) {
            if (!(e instanceof C4CError) || !e.transient) throw e;
          }
          if (Date.now() - started >= settleMs) break;
        }
        if (attempt >= 1 || this.client.isClosed) {
          err.message += ` (outcome unknown: nothing appeared within ${Math.round(settleMs / 1000)} s; not sent again)`;
          throw err;
        }
      }
    }
  }

  /** The OpenID behind a profile on the channel (cached). */
  async openidOf(profileUUID: string, channelCode: string): Promise<string | undefined> {
    const key = toObjectId(profileUUID);
    const hit = await this.recall(`openid:${channelCode}:${key}`);
    if (hit) return hit;
    const info = await this.userInformation({ ObjectID: key });
    const row = info.find((i) => str(i.SocialMediaChannelCode) === channelCode && str(i.SocialMediaUserAccountID));
    const openid = row ? str(row.SocialMediaUserAccountID) : undefined;
    if (openid) await this.rememberProfile(openid, channelCode, key);
    return openid;
  }

  /** The ticket's root activity: ticket ID → ObjectID → document reference 1607 → activity ID → activity. */
  async rootActivityOfTicket(ticketId: string): Promise<Row | undefined> {
    const tickets = await this.client.get(TICKET_SET, { $filter: `ID eq ${odataString(ticketId)}`, $select: 'ObjectID,ID', $top: '2' }, 'ticket lookup');
    const ticket = (Array.isArray(tickets.data) ? (tickets.data as Row[]) : []).find((t) => str(t.ID) === ticketId);
    if (!ticket) return undefined;
    const refs = await this.client.get(TICKET_REFERENCE_SET, { $filter: `ParentObjectID eq ${odataString(str(ticket.ObjectID))} and TypeCode eq '${ACTIVITY_REFERENCE_TYPE}'`, $top: '20' }, 'ticket reference lookup');
    const ref = (Array.isArray(refs.data) ? (refs.data as Row[]) : []).find((r) => str(r.TypeCode) === ACTIVITY_REFERENCE_TYPE && sameId(r.ParentObjectID, ticket.ObjectID));
    if (!ref || !str(ref.ID)) return undefined;
    const acts = await this.client.get(ACTIVITY_SET, { $filter: `ID eq ${odataString(str(ref.ID))}`, $top: '2' }, 'activity lookup');
    return (Array.isArray(acts.data) ? (acts.data as Row[]) : []).find((a) => str(a.ID) === str(ref.ID));
  }

  /** The profile behind a reply: by `original_id`, else by the ticket (each kept once found). */
  private async profileOf(reply: Pick<AgentReply, 'originalId' | 'ticketId'>): Promise<string> {
    if (reply.originalId) {
      const known = await this.recall(`message:${reply.originalId}`);
      if (known) return known;
      const activity = await this.findActivity(reply.originalId);
      const profileUUID = activity ? str(activity.SocialMediaUserProfileUUID) : '';
      if (profileUUID) {
        await this.remember(`message:${reply.originalId}`, profileUUID, 7 * DAY_MS);
        return profileUUID;
      }
    }
    if (!reply.ticketId) return '';
    const known = await this.recall(`ticket:${reply.ticketId}`);
    if (known) return known;
    const root = await this.rootActivityOfTicket(reply.ticketId);
    const profileUUID = root ? str(root.SocialMediaUserProfileUUID) : '';
    if (profileUUID) await this.remember(`ticket:${reply.ticketId}`, profileUUID, 7 * DAY_MS);
    return profileUUID;
  }

  /** The follower a reply is for: by `original_id`, else by the ticket. Fails with SOCIAL_UNKNOWN_FOLLOWER. */
  async followerOf(reply: Pick<AgentReply, 'originalId' | 'ticketId'>, channelCode: string): Promise<string> {
    const profileUUID = await this.profileOf(reply);
    const openid = profileUUID ? await this.openidOf(profileUUID, channelCode) : undefined;
    if (!openid) {
      const which = [reply.originalId && `original_id ${reply.originalId}`, reply.ticketId && `ticket ${reply.ticketId}`].filter(Boolean).join(', ');
      throw new C4CError(`C4C agent reply: no follower on channel ${channelCode} found for ${which}`, 'SOCIAL_UNKNOWN_FOLLOWER');
    }
    return openid;
  }
}
