/**
 * C4C change events: the two shapes C4C posts to an external consumer, the checks a
 * consumer must make before it touches its tenant, and the read-back.
 *
 * - The older OData feed notification: `{businessObject, businessObjectId, event,
 *   odataServiceEndpoint}` (the entity's URL). The URL is followed only when its origin is the
 *   tenant's and its path is under /sap/c4c/odata/ — a forged event must never make the consumer
 *   send the tenant's credentials to another host.
 * - The current Event Notification: `{"event-type": "<Object>.Root.<Created|Updated|Deleted>.v1",
 *   "event-id", "event-time", data: {"entity-id", "root-entity-id", Changes?}}`, optionally
 *   inside a CloudEvents envelope (`specversion`, `type`, `source`, `id`, `data`).
 *
 * Both carry keys only: the entity is read back through the tenant's C4CClient, as a lookup on
 * ObjectID, so that read-backs waiting for a slot are combined into one GET like the customer
 * lookups. Events are deduplicated (event-id, or the old shape's whole body) in a DeliveryStore,
 * queued in a WorkQueue (a Redis Stream with a shared store: an instance that dies after its 202
 * leaves nothing behind) and read back one at a time per object, in arrival order.
 */
import { createHash } from 'node:crypto';
import type { DeliveryStore, Locks, WorkItem, WorkQueue } from '../store/types';
import { KeyedSerializer } from '../util/limiter';
import { C4CError } from './errors';
import { odataString, type ODataResult } from './odata';

/** Business object (as in the event type) → OData entity set. */
export const DEFAULT_COLLECTIONS: Readonly<Record<string, string>> = Object.freeze({
  IndividualCustomer: 'IndividualCustomerCollection',
  CorporateAccount: 'CorporateAccountCollection',
  Account: 'CorporateAccountCollection',
  Contact: 'ContactCollection',
  ServiceRequest: 'ServiceRequestCollection',
  Ticket: 'ServiceRequestCollection',
  Opportunity: 'OpportunityCollection',
  SalesOrder: 'SalesOrderCollection',
});

export type EventKind = 'created' | 'updated' | 'deleted';

/** One changed field, as the "enhanced payload" lists it. */
export interface EventChange {
  field: string;
  old?: unknown;
  new?: unknown;
  node?: string;
}

/** An accepted event: what the queue carries (JSON only). */
export interface C4CEvent {
  shape: 'feed' | 'event' | 'cloudevents';
  businessObject: string;
  objectId: string;
  event: EventKind;
  eventId?: string;
  eventTime?: string;
  /** the changed fields when C4C sent them, else null */
  changes: EventChange[] | null;
  /** the entity set the read-back uses (undefined: not mapped, no read-back possible) */
  entitySet?: string;
  /** the dedupe key: `id:<event-id>` or `body:<sha256 of the body>` */
  key: string;
}

export type ParseResult = { ok: true; event: C4CEvent } | { ok: false; reason: 'shape' | 'endpoint'; detail: string };

export interface ParseOptions {
  /** the c4c-config's Tenant URL */
  tenant: string;
  collections?: Record<string, string>;
}

/** The `collections` property: a JSON object of strings merged over the defaults; anything else throws. */
export function parseCollections(text: unknown): Record<string, string> {
  const raw = typeof text === 'string' ? text.trim() : text;
  if (raw === undefined || raw === null || raw === '') return { ...DEFAULT_COLLECTIONS };
  const value = typeof raw === 'string' ? JSON.parse(raw) : raw;
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('collections must be a JSON object');
  const out: Record<string, string> = { ...DEFAULT_COLLECTIONS };
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) throw new Error(`collections: "${k}" must name an entity set`);
    out[k] = v;
  }
  return out;
}

const KINDS: Record<string, EventKind> = {
  c: 'created', create: 'created', created: 'created',
  u: 'updated', update: 'updated', updated: 'updated',
  d: 'deleted', delete: 'deleted', deleted: 'deleted',
};

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : typeof v === 'number' ? String(v) : undefined);
/** An ObjectID / key as C4C gives them: no quotes, slashes or control characters. */
const validId = (v: string | undefined): v is string => !!v && v.length <= 100 && /^[^'"/\\?#\s\u0000-\u001f]+$/.test(v);

/** The entity set of an object by the map (exact, then without case). */
function entitySetOf(object: string, collections: Record<string, string>): string | undefined {
  if (Object.prototype.hasOwnProperty.call(collections, object)) return collections[object];
  const lower = object.toLowerCase();
  const hit = Object.keys(collections).find((k) => k.toLowerCase() === lower);
  return hit ? collections[hit] : undefined;
}

/** The business object an entity set belongs to (the first key of the map that names it). */
function objectOfSet(entitySet: string, collections: Record<string, string>): string | undefined {
  return Object.keys(collections).find((k) => collections[k] === entitySet);
}

/** The changed fields of an enhanced payload (`Changes[].ChangedFields[]`), flattened. */
function changesOf(changes: unknown): EventChange[] | null {
  if (!Array.isArray(changes)) return null;
  const out: EventChange[] = [];
  for (const c of changes) {
    if (!isObject(c)) continue;
    const fields = Array.isArray(c.ChangedFields) ? c.ChangedFields : [];
    for (const f of fields) {
      if (!isObject(f) || !text(f.Fieldname)) continue;
      out.push({ field: text(f.Fieldname) as string, old: f.Old, new: f.New, node: text(c.node) });
    }
  }
  return out;
}

/** The distinct names of changed fields, in order. */
export function changedFieldNames(changes: EventChange[] | null | undefined): string[] {
  return [...new Set((changes ?? []).map((c) => c.field))];
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/**
 * `odataServiceEndpoint` checked against the tenant: same origin (scheme, host, port), no
 * user:password@, path under /sap/c4c/odata/, last segment `<EntitySet>('<key>')`.
 */
export function checkEndpoint(endpoint: string, tenant: string): { ok: true; entitySet: string; key: string } | { ok: false; detail: string } {
  let url: URL;
  let base: URL;
  try {
    url = new URL(endpoint);
    base = new URL(tenant);
  } catch {
    return { ok: false, detail: 'odataServiceEndpoint is not a URL' };
  }
  if (url.username || url.password) return { ok: false, detail: 'odataServiceEndpoint carries credentials' };
  if (url.origin !== base.origin) return { ok: false, detail: `odataServiceEndpoint is not on the tenant (${url.origin})` };
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return { ok: false, detail: 'odataServiceEndpoint has a malformed path' };
  }
  if (!path.startsWith('/sap/c4c/odata/') || path.split('/').some((s) => s === '..' || s === '.')) return { ok: false, detail: 'odataServiceEndpoint is not under /sap/c4c/odata/' };
  const m = /\/([A-Za-z_][A-Za-z0-9_]*)\('([^']*)'\)$/.exec(path);
  if (!m || !validId(m[2])) return { ok: false, detail: 'odataServiceEndpoint does not name one entity' };
  return { ok: true, entitySet: m[1], key: m[2] };
}

/**
 * Parse a body C4C posted (already JSON-parsed, or a JSON string / Buffer). Refusals say why,
 * without echoing the body.
 */
export function parseEvent(body: unknown, opts: ParseOptions): ParseResult {
  const collections = opts.collections ?? DEFAULT_COLLECTIONS;
  let value = body;
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return { ok: false, reason: 'shape', detail: 'the body is not JSON' };
    }
  }
  if (!isObject(value)) return { ok: false, reason: 'shape', detail: 'the body is not a JSON object' };
  const shape = (detail: string): ParseResult => ({ ok: false, reason: 'shape', detail });

  // The OData feed notification.
  if ('odataServiceEndpoint' in value || 'businessObjectId' in value) {
    const endpoint = text(value.odataServiceEndpoint);
    const kind = KINDS[String(value.event ?? '').trim().toLowerCase()];
    if (!endpoint) return shape('odataServiceEndpoint is missing');
    if (!kind) return shape('event is not one of C/U/D, Create(d)/Update(d)/Delete(d)');
    const checked = checkEndpoint(endpoint, opts.tenant);
    if (!checked.ok) return { ok: false, reason: 'endpoint', detail: checked.detail };
    const id = text(value.businessObjectId);
    if (id !== undefined && id !== checked.key) return shape('businessObjectId is not the key in odataServiceEndpoint');
    const businessObject = objectOfSet(checked.entitySet, collections) ?? text(value.businessObject) ?? checked.entitySet;
    return {
      ok: true,
      event: { shape: 'feed', businessObject, objectId: checked.key, event: kind, changes: null, entitySet: checked.entitySet, key: `body:${sha256(JSON.stringify(value))}` },
    };
  }

  // The Event Notification, bare or in a CloudEvents envelope.
  const cloud = 'specversion' in value;
  const type = text(cloud ? value.type : value['event-type']);
  const eventId = text(cloud ? value.id : value['event-id']);
  const eventTime = text(cloud ? value.time : value['event-time']);
  const data = value.data;
  if (!type) return shape('neither odataServiceEndpoint nor event-type/type');
  const m = /^([A-Za-z_][A-Za-z0-9_]*)\.[A-Za-z_][A-Za-z0-9_]*\.(Created|Updated|Deleted)\.v\d+$/i.exec(type);
  if (!m) return shape('the event type is not <Object>.Root.<Created|Updated|Deleted>.v1');
  if (!eventId || eventId.length > 200) return shape('the event has no id');
  if (!isObject(data)) return shape('the event has no data');
  const objectId = text(data['root-entity-id']) ?? text(data['entity-id']);
  if (!validId(objectId)) return shape('data has no valid root-entity-id / entity-id');
  const businessObject = m[1];
  return {
    ok: true,
    event: {
      shape: cloud ? 'cloudevents' : 'event',
      businessObject,
      objectId,
      event: KINDS[m[2].toLowerCase()],
      eventId,
      eventTime,
      changes: changesOf(data.Changes),
      entitySet: entitySetOf(businessObject, collections),
      key: `id:${eventId}`,
    },
  };
}

/** The part of C4CClient the read-back needs. */
export interface ODataReader {
  get(path: string, query?: Record<string, string>, what?: string, opts?: { lookup?: { property: string; value: string } }): Promise<ODataResult>;
}

/** An entity read back, or gone (404, or no row). */
export interface ReadBack {
  entity: unknown;
  gone: boolean;
}

/**
 * `<EntitySet>` looked up by ObjectID: with a free slot one GET for this object, while waiting
 * combined with the other waiting read-backs of the set (`ObjectID eq 'a' or ObjectID eq 'b'`).
 * A 404 or no row: gone.
 */
export async function readBack(reader: ODataReader, entitySet: string, objectId: string): Promise<ReadBack> {
  try {
    const res = await reader.get(entitySet, { $filter: `ObjectID eq ${odataString(objectId)}` }, 'event read-back', { lookup: { property: 'ObjectID', value: objectId } });
    const rows = Array.isArray(res.data) ? res.data : res.data === undefined || res.data === null ? [] : [res.data];
    const row = rows.find((r) => isObject(r) && String(r.ObjectID ?? objectId) === objectId);
    return row ? { entity: row, gone: false } : { entity: null, gone: true };
  } catch (err) {
    if (err instanceof C4CError && err.statusCode === 404) return { entity: null, gone: true };
    throw err;
  }
}

/** What the node sends. */
export interface EventOutput {
  payload: unknown;
  topic: string;
  c4c: { businessObject: string; objectId: string; event: EventKind; eventId?: string; eventTime?: string; changes: EventChange[] | null; gone: boolean; recovered?: boolean };
}

function eventOutput(event: C4CEvent, read: ReadBack | undefined, recovered = false): EventOutput {
  return {
    payload: read ? read.entity : null,
    topic: `${event.businessObject}.${event.event}`,
    c4c: {
      businessObject: event.businessObject,
      objectId: event.objectId,
      event: event.event,
      eventId: event.eventId,
      eventTime: event.eventTime,
      changes: event.changes,
      gone: !!read?.gone,
      ...(recovered ? { recovered: true } : {}),
    },
  };
}

export interface EventPipelineOptions {
  queue: WorkQueue<C4CEvent>;
  /** dedupe claims (the shared store's, or memory) */
  deliveries: DeliveryStore;
  /** with a shared store: one read-back per object at a time across instances */
  locks?: Locks;
  dedupeWindowMs: number;
  /** the tenant's client; undefined → every event fails with C4C_CONFIG */
  reader: () => ODataReader | undefined;
  readBack: boolean;
  /** an event's output (on the instance that handled it) */
  emit: (out: EventOutput, event: C4CEvent) => void;
  /** an event's failure (the read-back), once */
  fail: (err: Error, event: C4CEvent) => void;
  /** a repeated event was dropped */
  duplicate?: (event: C4CEvent) => void;
}

/**
 * Accepted events → queue → dedupe → per-object order → read-back → output. `accept` resolves
 * once the event is queued (the node answers 202 then); everything after it runs from the queue.
 */
export class EventPipeline {
  private readonly serial = new KeyedSerializer();

  constructor(private readonly opts: EventPipelineOptions) {
    opts.queue.consume((item) => this.handle(item));
  }

  /** Queue an accepted event; rejects (code STORE_UNAVAILABLE) when the store cannot take it. */
  accept(event: C4CEvent): Promise<string> {
    return this.opts.queue.add(event);
  }

  private handle(item: WorkItem<C4CEvent>): Promise<void> {
    const event = item.data;
    // chained now, in the order the queue hands items out: arrival order per object
    return this.serial.run(`${event.businessObject}\u0000${event.objectId}`, () => this.process(event, item.recovered));
  }

  private async process(event: C4CEvent, recovered: boolean): Promise<void> {
    const { deliveries, dedupeWindowMs } = this.opts;
    let claim;
    try {
      claim = await deliveries.claim(event.key, dedupeWindowMs);
    } catch {
      claim = { first: true as const }; // the store is down: better twice than never
    }
    // Not first: a repeat — unless this is a dead instance's item whose claim was never completed.
    if (!claim.first && !(recovered && claim.reply === undefined)) {
      this.opts.duplicate?.(event);
      return;
    }
    try {
      const run = () => this.read(event);
      const read = this.opts.locks ? await this.opts.locks.withLock(`event:${event.businessObject}:${event.objectId}`, run, { ttlMs: 10000, waitMs: 120000 }) : await run();
      this.opts.emit(eventOutput(event, read, recovered), event);
    } catch (err) {
      this.opts.fail(err as Error, event);
    } finally {
      await deliveries.complete(event.key, null).catch(() => undefined);
    }
  }

  private async read(event: C4CEvent): Promise<ReadBack | undefined> {
    if (!this.opts.readBack || event.event === 'deleted') return undefined;
    if (!event.entitySet) throw new C4CError(`C4C event read-back: no entity set for business object ${event.businessObject} (collections)`, 'C4C_INPUT');
    const reader = this.opts.reader();
    if (!reader) throw new C4CError('C4C event read-back: the c4c-config is not usable', 'C4C_CONFIG');
    return readBack(reader, event.entitySet, event.objectId);
  }

  async close(): Promise<void> {
    await this.opts.queue.close();
  }
}
