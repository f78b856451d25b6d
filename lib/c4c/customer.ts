import { randomUUID } from 'node:crypto';
import type { Locks } from '../store/types';
import { sleep } from '../util/backoff';
import { C4CClient } from './client';
import { buildOrFilters } from './batch';
import { odataString, odataValue, type TypedValue } from './odata';
import { C4CError, C4CInputError } from './errors';
import { MemoryLocks } from '../store/memory';
import { builtInMetadata, describeProblems, entityTypeOf, validateCreate, type ServiceMetadata } from './metadata';

/** The special lookupField: the OpenID kept as an IndividualCustomerIdentification. */
const IDENTIFICATION = 'identification';
const IDENTIFICATION_SET = 'IndividualCustomerIdentificationCollection';
const OBSOLETE = '4';

export interface CustomerRequest {
  /** default IndividualCustomerCollection */
  entitySet: string;
  /** the entity to create */
  body: Record<string, unknown>;
  /** look for an existing entity first (default true) */
  lookup: boolean;
  /** a filterable property (extension fields too) or 'identification' (default LastName) */
  lookupField: string;
  /** the follower key; default body[lookupField] (identification: the OpenID) */
  key?: string;
  /** IDTypeCode of the identification (lookupField 'identification') */
  identificationType?: string;
  /** send a client-generated UUID with the create and look the create up by it when its outcome is unknown */
  idempotentCreate?: boolean;
}

/** What the node evaluated; the service turns it into a request (and refuses bad input). */
export interface CustomerInput {
  entitySet?: string;
  roleCode?: string;
  firstName?: unknown;
  lastName?: unknown;
  /** more properties (an object) */
  fields?: unknown;
  lookup?: boolean;
  lookupField?: string;
  identificationType?: string;
  idempotentCreate?: boolean;
  /** the follower's OpenID (msg.wechat.openid): the IDNumber with lookupField 'identification' */
  openid?: unknown;
}

export interface CustomerResult {
  entity: Record<string, unknown>;
  created: boolean;
  customerId: string | undefined;
  objectId: string | undefined;
  /** how many active entities matched the lookup exactly (more than 1 = duplicates already in C4C) */
  matches: number;
}

export interface CustomerServiceOptions {
  /** a fixed metadata (tests, custom set-ups); default: the tenant's live $metadata, the shipped excerpt as fallback */
  metadata?: ServiceMetadata;
  /** the per-follower lock (per tenant); default in-process. A Redis one serialises across instances. */
  locks?: Locks;
  /** how long to look for a create whose outcome is unknown before sending it again (default 2 × the client timeout) */
  settleMs?: number;
  /** the client's request timeout (default 30000) */
  timeoutMs?: number;
  /** new POSTs after a settle period that found nothing (default 1) */
  ambiguousRetries?: number;
  /** a warning for the log (e.g. $metadata unreadable: the shipped excerpt is used) */
  onWarn?: (message: string) => void;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Pages (C4C's `__next`, 1,000 rows each) a lookup reads at most while no row is the follower's. */
const MAX_PAGES = 10;
/** After a failed $metadata read, the fallback serves this long before the next try. */
const METADATA_RETRY_MS = 60000;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Find-or-create on top of the OData client, per tenant:
 * - validation against the tenant's live $metadata (C4CClient.metadata: `$filter=<EntityType>,…`,
 *   the full one when that is not enough; re-read after a 400 naming an unknown property; the
 *   shipped excerpt if it cannot be read) before any request;
 * - one follower at a time per key (the lock), lookup before create with the literal of the
 *   field's Edm type (odataValue), rows re-checked for exact equality of that type (C4C's `*`
 *   wildcard and case rules never hand over another follower's customer; GUIDs without case),
 *   obsolete customers (LifeCycleStatusCode 4) ignored, `$select` only what is needed, the next
 *   page (`__next`) read while none is the follower's;
 * - lookups on a text property and creates may be combined by the client when they wait for a slot
 *   (an or-filter GET on that one property, a $batch); lookups by identification (the
 *   identification collection, then the parents by ObjectID: no $expand, no navigation path in
 *   $select) and on typed properties go alone;
 * - a create whose outcome is unknown (timeout, reset, 502/504) is followed by lookups over a
 *   settle period (growing pauses, at least twice the timeout) before it is sent again; a
 *   customer that appears is the result, `created: true`.
 */
export class CustomerService {
  private readonly locks: Locks;
  private readonly fixedMetadata: ServiceMetadata | undefined;
  private readonly settleMs: number;
  private readonly ambiguousRetries: number;
  private readonly onWarn: (message: string) => void;
  private readonly cache = new Map<string, { md: Promise<ServiceMetadata>; until: number }>();
  /** entity sets whose metadata was invalidated: read again from the tenant, not from the client's copy */
  private readonly stale = new Set<string>();
  private allStale = false;
  readonly stats = { settleLookups: 0, settleFound: 0, metadataFallbacks: 0 };

  constructor(private readonly client: C4CClient, opts: CustomerServiceOptions = {}) {
    this.locks = opts.locks ?? new MemoryLocks();
    this.fixedMetadata = opts.metadata;
    this.settleMs = opts.settleMs ?? 2 * (opts.timeoutMs ?? 30000);
    this.ambiguousRetries = opts.ambiguousRetries ?? 1;
    this.onWarn = opts.onWarn ?? (() => undefined);
  }

  /** The metadata for an entity set: fixed, cached, or read from the tenant now. */
  metadataFor(entitySet: string): Promise<ServiceMetadata> {
    if (this.fixedMetadata) return Promise.resolve(this.fixedMetadata);
    const hit = this.cache.get(entitySet);
    if (hit && hit.until > Date.now()) return hit.md;
    const sets = entitySet === 'IndividualCustomerCollection' ? [entitySet, IDENTIFICATION_SET] : [entitySet];
    const entry = { until: Infinity, md: undefined as unknown as Promise<ServiceMetadata> };
    const fresh = this.allStale || this.stale.delete(entitySet);
    this.allStale = false;
    entry.md = this.client.metadata(sets, { fresh }).then((md) => {
      if (!entityTypeOf(md, entitySet)) throw new Error(`the tenant's $metadata has no entity set ${entitySet}`);
      return md;
    }).catch((err: Error) => {
      if (this.client.isClosed) throw err;
      entry.until = Date.now() + METADATA_RETRY_MS;
      this.stats.metadataFallbacks++;
      this.onWarn(this.client.redact(`C4C $metadata could not be read (${err.message}); checking creates against the shipped IndividualCustomer excerpt (extension fields unknown to it are refused) until it can be read`));
      return builtInMetadata();
    });
    this.cache.set(entitySet, entry);
    return entry.md;
  }

  /** Forget the cached $metadata: the next create reads it again. */
  invalidateMetadata(entitySet?: string): void {
    if (entitySet) {
      this.cache.delete(entitySet);
      this.stale.add(entitySet);
    } else {
      this.cache.clear();
      this.allStale = true;
    }
  }

  /** Turn evaluated node properties into a request; C4C_INPUT for anything C4C would refuse. */
  buildRequest(input: CustomerInput): CustomerRequest {
    const entitySet = String(input.entitySet || 'IndividualCustomerCollection');
    if (input.fields !== undefined && (typeof input.fields !== 'object' || input.fields === null || Array.isArray(input.fields))) {
      throw new C4CInputError('more fields must evaluate to an object of C4C properties');
    }
    const body: Record<string, unknown> = { RoleCode: String(input.roleCode || 'CRM000') };
    if (input.firstName !== undefined && input.firstName !== null && input.firstName !== '') body.FirstName = String(input.firstName);
    body.LastName = input.lastName === undefined || input.lastName === null ? '' : String(input.lastName);
    Object.assign(body, input.fields as Record<string, unknown> | undefined);
    const lookupField = String(input.lookupField || 'LastName');
    const lookup = input.lookup !== false;
    const req: CustomerRequest = { entitySet, body, lookup, lookupField, idempotentCreate: input.idempotentCreate === true };
    if (lookupField === IDENTIFICATION) {
      const openid = input.openid === undefined || input.openid === null ? '' : String(input.openid);
      if (!openid.trim()) throw new C4CInputError('lookupField identification needs the OpenID in msg.wechat.openid');
      const type = String(input.identificationType || '').trim();
      if (!type) throw new C4CInputError('lookupField identification needs an ID type (identificationType, an IDTypeCode of your tenant)');
      req.identificationType = type;
      req.key = openid;
      const existing = body.IndividualCustomerIdentification;
      const list = Array.isArray(existing) ? existing.slice() : existing ? [existing] : [];
      list.push({ IDTypeCode: type, IDNumber: openid });
      body.IndividualCustomerIdentification = list;
    }
    return req;
  }

  private keyOf(req: CustomerRequest): string {
    return req.key ?? (req.body[req.lookupField] === undefined || req.body[req.lookupField] === null ? '' : String(req.body[req.lookupField]));
  }

  /** Checks needing no request, against the given (or the fallback) metadata. */
  validate(req: CustomerRequest, md: ServiceMetadata = this.fixedMetadata ?? builtInMetadata()): void {
    if (!IDENTIFIER.test(req.entitySet)) throw new C4CInputError(`invalid entity set name "${req.entitySet}"`);
    const type = entityTypeOf(md, req.entitySet);
    if (req.lookup) {
      const identification = req.lookupField === IDENTIFICATION;
      if (!identification && !IDENTIFIER.test(req.lookupField)) throw new C4CInputError(`invalid lookup field name "${req.lookupField}"`);
      if (!this.keyOf(req).trim()) throw new C4CInputError(`the lookup field ${req.lookupField} has no value (is the OpenID missing?)`);
      if (identification) {
        if (!entityTypeOf(md, IDENTIFICATION_SET)) throw new C4CInputError(`lookupField identification needs ${IDENTIFICATION_SET}, which the tenant's $metadata does not have`);
        if (type && !type.navigation.has('IndividualCustomerIdentification')) throw new C4CInputError(`${type.name} has no IndividualCustomerIdentification to keep the OpenID in`);
      } else if (type) {
        const p = type.properties.get(req.lookupField);
        if (!p) throw new C4CInputError(`the lookup field ${req.lookupField} is not a property of ${type.name} in the tenant's $metadata`);
        if (!p.filterable) throw new C4CInputError(`the lookup field ${req.lookupField} is not filterable in C4C`);
        this.keyValue(req, md); // a key that cannot be of the field's type: refused now
      }
    }
    if (type) {
      const problems = validateCreate(type, req.body, md);
      if (problems.length) throw new C4CInputError(`invalid ${type.name}: ${describeProblems(problems)}`);
    }
  }

  /** The key as a literal of the lookup field's Edm type (Edm.String when the metadata does not know the field). */
  private keyValue(req: CustomerRequest, md: ServiceMetadata | undefined): TypedValue {
    const type = md ? entityTypeOf(md, req.entitySet) : undefined;
    return odataValue(type?.properties.get(req.lookupField)?.type, this.keyOf(req), `the ${req.lookupField} key`);
  }

  /** Look a follower up: only exact matches (typed: case-sensitive text, GUIDs without case, dates and numbers by value) of active customers count. */
  async find(req: CustomerRequest, md?: ServiceMetadata): Promise<{ entity: Record<string, unknown> | undefined; matches: number }> {
    if (req.lookupField === IDENTIFICATION) return this.findByIdentification(req);
    const type = md ? entityTypeOf(md, req.entitySet) : undefined;
    const field = req.lookupField;
    const key = this.keyValue(req, md);
    const wanted = ['ObjectID', 'CustomerID', 'LifeCycleStatusCode', field].filter((f, i, a) => a.indexOf(f) === i && (!type || type.properties.has(f)));
    // Only text keys may be combined with other followers' (`P eq 'a' or P eq 'b'`, matched back as text).
    const text = (type?.properties.get(field)?.type ?? 'Edm.String') === 'Edm.String';
    const rows: Record<string, unknown>[] = [];
    await this.pages(req.entitySet, { $filter: `${field} eq ${key.literal}`, $select: wanted.join(',') }, (page) => {
      rows.push(...page.filter((row) => key.same(row[field]) && row.LifeCycleStatusCode !== OBSOLETE));
      return rows.length > 0;
    }, text ? { property: field, value: this.keyOf(req) } : undefined);
    return { entity: rows[0], matches: rows.length };
  }

  /**
   * The identification collection filtered on IDTypeCode and IDNumber, only its own properties
   * (ParentObjectID included; no navigation path, no $expand), then the parent customers read by
   * ObjectID (`ObjectID eq 'a' or ObjectID eq 'b'`: one property); page after page until an
   * active parent is found.
   */
  private async findByIdentification(req: CustomerRequest): Promise<{ entity: Record<string, unknown> | undefined; matches: number }> {
    const value = this.keyOf(req);
    const idType = req.identificationType ?? '';
    const parents: Record<string, unknown>[] = [];
    await this.pages(IDENTIFICATION_SET, {
      $filter: `IDTypeCode eq ${odataString(idType)} and IDNumber eq ${odataString(value)}`,
      $select: 'ObjectID,ParentObjectID,IDTypeCode,IDNumber',
    }, async (page) => {
      const ids = [...new Set(page.filter((r) => r.IDNumber === value && r.IDTypeCode === idType).map((r) => str(r.ParentObjectID)).filter((id): id is string => !!id))];
      parents.push(...(await this.customersById(req.entitySet, ids)).filter((c) => c.LifeCycleStatusCode !== OBSOLETE));
      return parents.length > 0;
    });
    return { entity: parents[0], matches: parents.length };
  }

  /** Customers by ObjectID, in the order of `ids` (or-filters on ObjectID, under the URL limit). */
  private async customersById(entitySet: string, ids: string[]): Promise<Record<string, unknown>[]> {
    const byId = new Map<string, Record<string, unknown>>();
    for (const chunk of ids.length ? buildOrFilters('ObjectID', ids) : []) {
      await this.pages(entitySet, { $filter: chunk.filter, $select: 'ObjectID,CustomerID,LifeCycleStatusCode' }, (page) => {
        for (const c of page) if (typeof c.ObjectID === 'string' && ids.includes(c.ObjectID)) byId.set(c.ObjectID, c);
        return false;
      });
    }
    return ids.map((id) => byId.get(id)).filter((c): c is Record<string, unknown> => !!c);
  }

  /**
   * A query page after page (C4C's `__next`, up to MAX_PAGES): `take` gets each page's rows and
   * says whether that is enough. The first page may be combined with other followers' lookups
   * (`lookup`, only when they wait for a slot). Still not enough after MAX_PAGES with C4C offering
   * more (`*` wildcards, case variants, a next link that never ends): C4C_LOOKUP_PAGES — "not
   * found" would create a second customer when the follower's is on a later page.
   */
  private async pages(entitySet: string, query: Record<string, string>, take: (rows: Record<string, unknown>[]) => boolean | Promise<boolean>, lookup?: { property: string; value: string }): Promise<void> {
    let res = await this.client.get(entitySet, query, 'lookup', { lookup });
    for (let page = 1; ; page++) {
      if (!Array.isArray(res.data)) throw new C4CError(`C4C lookup failed: the answer has no result list`, 'C4C_NOT_ODATA', res.status);
      if (await take((res.data as unknown[]).filter((r): r is Record<string, unknown> => !!r && typeof r === 'object'))) return;
      if (!res.next) return;
      if (page >= MAX_PAGES) throw new C4CError(this.client.redact(`C4C lookup failed: ${page} pages of ${entitySet} matched ${query.$filter} without the follower's row, and C4C has more; nothing created (a second customer if the follower's is on a later page)`), 'C4C_LOOKUP_PAGES');
      res = await this.client.getNext(res.next, 'lookup');
    }
  }

  private async findByUuid(req: CustomerRequest, uuid: string): Promise<Record<string, unknown> | undefined> {
    const key = odataValue('Edm.Guid', uuid, 'UUID');
    const res = await this.client.get(req.entitySet, { $filter: `UUID eq ${key.literal}`, $select: 'ObjectID,CustomerID,UUID', $top: '2' }, 'lookup');
    const list = Array.isArray(res.data) ? (res.data as Record<string, unknown>[]) : [];
    return list.find((r) => key.same(r.UUID));
  }

  async createOrFind(req: CustomerRequest): Promise<CustomerResult> {
    const md = await this.metadataFor(req.entitySet);
    this.validate(req, md);
    const key = req.lookup ? `${req.entitySet}\u0000${req.lookupField}\u0000${req.identificationType ?? ''}\u0000${this.keyOf(req)}` : undefined;
    const run = (): Promise<CustomerResult> => this.findOrCreate(req, md);
    if (!key) return run();
    const hold = this.settleMs * (this.ambiguousRetries + 2) + 60000;
    return this.locks.withLock(key, run, { ttlMs: 30000, waitMs: hold * 4, signal: this.client.signal });
  }

  private async findOrCreate(req: CustomerRequest, md: ServiceMetadata): Promise<CustomerResult> {
    if (req.lookup) {
      const found = await this.find(req, md);
      if (found.entity) return result(found.entity, false, found.matches);
    }
    let body = req.body;
    let uuid: string | undefined;
    if (req.idempotentCreate) {
      uuid = typeof body.UUID === 'string' && GUID.test(body.UUID) ? body.UUID : randomUUID();
      body = { ...body, UUID: uuid };
    }
    for (let attempt = 0; ; attempt++) {
      try {
        // May go into a $batch with other followers' creates (one changeset each) when they wait for a slot.
        const res = await this.client.post(req.entitySet, body, 'create', { combine: true });
        const entity = res.data && typeof res.data === 'object' && !Array.isArray(res.data) ? (res.data as Record<string, unknown>) : undefined;
        if (res.status !== 201 || !entity || !str(entity.ObjectID)) {
          throw new C4CError(`C4C create failed: HTTP ${res.status} without a created entity (no ObjectID)`, 'C4C_NOT_ODATA', res.status);
        }
        return result(entity, true, 0);
      } catch (err) {
        const e = err as C4CError;
        if (e instanceof C4CError && e.statusCode === 400 && /propert/i.test(e.message) && !this.fixedMetadata) this.invalidateMetadata(req.entitySet);
        const checkable = req.lookup || !!uuid;
        if (!(e instanceof C4CError) || !e.ambiguous || !checkable) throw err;
        // The create may have been committed: look for it over the settle period first (a create of
        // a $batch that failed as a whole: as many periods as the $batch had creates; one C4C's
        // complete $batch answer left unanswered: one lookup).
        const settleMs = this.settleMs * (e.settlePeriods ?? 1);
        const appeared = await this.settle(req, md, uuid, settleMs);
        if (appeared) return result(appeared, true, 1);
        if (attempt >= this.ambiguousRetries || this.client.isClosed) {
          e.message += ` (outcome unknown: no customer appeared within ${Math.round(settleMs / 1000)} s; not sent again)`;
          throw e;
        }
      }
    }
  }

  /** Lookups with growing pauses (1/16, 1/8, then 1/4 of the period) until the settle period has passed. */
  private async settle(req: CustomerRequest, md: ServiceMetadata, uuid: string | undefined, settleMs: number): Promise<Record<string, unknown> | undefined> {
    const started = Date.now();
    for (let i = 0; ; i++) {
      await sleep(Math.min(settleMs / 4, (settleMs / 16) * 2 ** i), this.client.signal);
      if (this.client.isClosed) return undefined;
      this.stats.settleLookups++;
      try {
        const entity = uuid ? await this.findByUuid(req, uuid) : (await this.find(req, md)).entity;
        if (entity) {
          this.stats.settleFound++;
          return entity;
        }
      } catch (err) {
        // A lookup that fails (C4C still busy) is one more reason to wait, not to create.
        if (!(err instanceof C4CError) || !err.transient) throw err;
      }
      if (Date.now() - started >= settleMs) return undefined;
    }
  }
}

function result(entity: Record<string, unknown>, created: boolean, matches: number): CustomerResult {
  return { entity, created, customerId: str(entity.CustomerID), objectId: str(entity.ObjectID), matches };
}
