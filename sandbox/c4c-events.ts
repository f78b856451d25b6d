/**
 * The C4C simulator's change events: when a customer is edited, C4C posts an event to
 * the configured consumer endpoint with Basic auth, in one of the shapes a tenant sends — the
 * Event Notification (`event-type`, `event-id`, `event-time`, `data` with the enhanced payload's
 * `Changes`), the same inside a CloudEvents envelope, or the older OData feed notification
 * (`businessObject`, `businessObjectId`, `event`, `odataServiceEndpoint`). For tests it can repeat
 * every delivery and reorder them (a batch posted last event first), as C4C promises neither
 * order nor exactly-once.
 *
 * Like the rest of the sandbox it imports nothing from lib/.
 */
import { randomUUID } from 'node:crypto';

export type EventShape = 'event' | 'cloudevents' | 'feed';

export interface EventNotifierConfig {
  /** the consumer endpoint (Node-RED's /c4c/events); empty: no events are sent */
  endpoint: string;
  username: string;
  password: string;
  shape: EventShape;
  /** every event is posted this many times (default 1) */
  repeat: number;
  /** 0/1: in order; N ≥ 2: events are held until N are waiting (or holdMs passed) and posted last first */
  reorder: number;
  holdMs: number;
  /** the enhanced payload (Changes) in the Event Notification shapes (default on) */
  enhanced: boolean;
}

export interface FieldChange {
  field: string;
  old: unknown;
  new: unknown;
}

interface Pending {
  body: Record<string, unknown>;
  what: string;
}

export class C4CEventNotifier {
  readonly config: EventNotifierConfig = { endpoint: '', username: '', password: '', shape: 'event', repeat: 1, reorder: 0, holdMs: 500, enhanced: true };
  readonly counters = { events: 0, posts: 0, failures: 0, byStatus: {} as Record<string, number> };
  private held: Pending[] = [];
  private holdTimer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  /**
   * @param tenant the tenant's base URL as the consumer knows it (for odataServiceEndpoint)
   * @param servicePath the OData service path
   * @param log one line per delivery (the sandbox page's event log)
   */
  constructor(private readonly tenant: () => string, private readonly servicePath: string, private readonly log: (line: string) => void) {}

  configure(patch: Partial<EventNotifierConfig>): EventNotifierConfig {
    const c = this.config;
    if (patch.endpoint !== undefined) c.endpoint = String(patch.endpoint);
    if (patch.username !== undefined) c.username = String(patch.username);
    if (patch.password !== undefined) c.password = String(patch.password);
    if (patch.shape !== undefined) {
      if (patch.shape !== 'event' && patch.shape !== 'cloudevents' && patch.shape !== 'feed') throw new Error('shape is event, cloudevents or feed');
      c.shape = patch.shape;
    }
    if (patch.repeat !== undefined) c.repeat = Math.max(1, Math.floor(Number(patch.repeat)) || 1);
    if (patch.reorder !== undefined) c.reorder = Math.max(0, Math.floor(Number(patch.reorder)) || 0);
    if (patch.holdMs !== undefined) c.holdMs = Math.max(0, Number(patch.holdMs) || 0);
    if (patch.enhanced !== undefined) c.enhanced = patch.enhanced === true;
    return this.view();
  }

  /** The configuration without the password. */
  view(): EventNotifierConfig {
    return { ...this.config, password: this.config.password ? '***' : '' };
  }

  /** The body C4C posts for one change of an IndividualCustomer. */
  body(objectId: string, kind: 'Created' | 'Updated' | 'Deleted', changes: FieldChange[], shape = this.config.shape): Record<string, unknown> {
    const id = randomUUID();
    const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const type = `IndividualCustomer.Root.${kind}.v1`;
    const data: Record<string, unknown> = { 'root-entity-id': objectId, 'entity-id': objectId };
    if (this.config.enhanced && changes.length) {
      data.Changes = [{ node: 'Root', nodeID: objectId, ParentNodeID: '', Modification: kind[0], ChangedBy: '8000000001', ChangedFields: changes.map((c) => ({ Fieldname: c.field, New: c.new ?? '', Old: c.old ?? '' })) }];
    }
    if (shape === 'feed') {
      return { businessObject: 'CUSTOMER', businessObjectId: objectId, event: kind[0], odataServiceEndpoint: `${this.tenant()}${this.servicePath}/IndividualCustomerCollection('${objectId}')` };
    }
    if (shape === 'cloudevents') {
      return { specversion: '1.0', type, source: this.tenant(), id, time, datacontenttype: 'application/json', data };
    }
    return { 'event-type': type, 'event-type-version': 'v1', 'event-id': id, 'event-time': time, data };
  }

  /** A customer changed: post its event (held, repeated as configured). */
  notify(objectId: string, kind: 'Created' | 'Updated' | 'Deleted', changes: FieldChange[]): void {
    if (!this.config.endpoint) return;
    this.counters.events++;
    const p: Pending = { body: this.body(objectId, kind, changes), what: `IndividualCustomer ${kind} ${objectId}` };
    if (this.config.reorder < 2) {
      this.track(this.deliver(p));
      return;
    }
    this.held.push(p);
    if (this.held.length >= this.config.reorder) this.flush();
    else if (!this.holdTimer) this.holdTimer = setTimeout(() => this.flush(), this.config.holdMs);
  }

  /** Post what is held, last first. */
  flush(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    const batch = this.held.splice(0).reverse();
    this.track((async () => {
      for (const p of batch) await this.deliver(p);
    })());
  }

  /** Resolves once every delivery started so far has been answered. */
  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  reset(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.held = [];
    Object.assign(this.config, { shape: 'event', repeat: 1, reorder: 0, holdMs: 500, enhanced: true });
    this.counters.events = 0;
    this.counters.posts = 0;
    this.counters.failures = 0;
    this.counters.byStatus = {};
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async deliver(p: Pending): Promise<void> {
    const { endpoint, username, password, repeat } = this.config;
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (username || password) headers.Authorization = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
    const text = JSON.stringify(p.body);
    for (let i = 0; i < repeat; i++) {
      this.counters.posts++;
      try {
        const res = await fetch(endpoint, { method: 'POST', headers, body: text, signal: AbortSignal.timeout(10000) });
        await res.arrayBuffer();
        this.counters.byStatus[res.status] = (this.counters.byStatus[res.status] || 0) + 1;
        this.log(`C4C event → ${endpoint}: ${p.what} (${this.config.shape}) ${res.status}`);
      } catch (err) {
        this.counters.failures++;
        this.log(`C4C event → ${endpoint}: ${p.what} failed (${(err as Error).message})`);
      }
    }
  }
}
