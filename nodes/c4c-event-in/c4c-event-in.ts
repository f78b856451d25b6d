import { C4CError } from '../../lib/c4c/errors';
import { checkBasic, EventPipeline, parseCollections, parseEvent, type C4CEvent, type EventOutput } from '../../lib/c4c/events';
import { MemoryStoreProvider } from '../../lib/store/memory';
import { configured, numberOr } from '../shared/config';
import { answer, rawResponse } from '../shared/http';
import { fit } from '../shared/status';
import type { NodeInstance, NodeMessage, NodeRED } from '../shared/types';
import type { C4CConfigNode } from '../c4c-config/c4c-config';

const TEXT = 'text/plain; charset=utf-8';

/** host[:port] of a URL, lowercase (the scope of the dedupe claims and locks). */
function hostOf(url: string): string {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return 'tenant';
  }
}

module.exports = function (RED: NodeRED) {
  function C4CEventIn(this: NodeInstance, config: Record<string, any>) {
    RED.nodes.createNode(this, config);
    const node = this;
    const system = RED.nodes.getNode(config.system) as C4CConfigNode | null;
    const readBackOn = config.readBack === undefined ? true : config.readBack === true || config.readBack === 'true';
    const dedupeWindowMs = numberOr(config.dedupeWindow, 600, 1) * 1000;
    const claimAfterMs = numberOr(config.claimAfter, 30, 1) * 1000;
    const creds = node.credentials || {};
    // a credential left empty falls back to its documented environment variable
    const user = configured(creds.username || process.env.C4C_EVENT_USER || '');
    const pass = configured(creds.password || process.env.C4C_EVENT_PASSWORD || '');
    const username = user.value;
    const password = pass.value;
    // credentials given as an unset ${VAR}: every POST is refused rather than let through unchecked
    const unset = [user.missing, pass.missing].filter(Boolean);
    const t = (key: string, vars?: Record<string, unknown>): string => {
      const text = RED._(`c4c-event-in.status.${key}`, vars);
      return text.startsWith('c4c-event-in.') ? text : fit(text);
    };

    let collections: Record<string, string> | undefined;
    let problem: string | undefined;
    try {
      collections = parseCollections(config.collections);
    } catch (err) {
      problem = RED._('c4c-event-in.errors.collections', { error: (err as Error).message });
    }
    if (!system) problem = problem ?? RED._('c4c-event-in.errors.no-system');
    if (problem) node.warn(problem);
    if (unset.length) node.warn(RED._('c4c-event-in.warn.env-missing', { name: unset.join(', ') }));
    else if (!username && !password) node.warn(RED._('c4c-event-in.warn.no-credentials'));

    if (!system) node.status({ fill: 'red', shape: 'ring', text: t('no-system') });
    else if (problem || system.problem) node.status({ fill: 'red', shape: 'ring', text: t('config') });
    else node.status({ fill: 'grey', shape: 'ring', text: t('ready') });

    /** An event's failure: status + Catch (one place, to be replaced by the shared failure report). */
    const reportFailure = (err: Error & { code?: string; statusCode?: number }, msg: NodeMessage): void => {
      const client = system?.client;
      const message = client ? client.redact(err.message) : err.message;
      const e: Error & { code?: string; statusCode?: number } = err instanceof C4CError ? err : Object.assign(new Error(message), { code: err.code ?? 'C4C_ERROR' });
      e.message = message;
      const code = String(e.code ?? '');
      const text = e.statusCode === 401 ? t('unauthorized') : code === 'C4C_CLOSED' ? t('closed')
        : e.statusCode === undefined && /^E[A-Z_]+$/.test(code) ? t('network', { code: code.slice(0, 14) }) : t('failed', { code: code.slice(0, 22) || '?' });
      node.status({ fill: 'red', shape: 'ring', text });
      node.error(e, msg);
    };

    // The dedupe claims, the queue and the per-object locks: the c4c-config's shared store, or
    // this node's own memory (one process: an instance that stops loses what it had queued).
    const own = system?.store ? undefined : new MemoryStoreProvider();
    const store = system?.store ?? own!;
    const scope = `c4c-events:${hostOf(system?.baseUrl ?? '')}:${node.id}`;
    const pipeline = system && !problem
      ? new EventPipeline({
        queue: store.queue<C4CEvent>(`c4c-event-in:${node.id}`, { claimAfterMs }),
        deliveries: store.deliveries(scope),
        locks: system.store ? store.locks(scope) : undefined,
        dedupeWindowMs,
        reader: () => system.client,
        readBack: readBackOn,
        emit: (out: EventOutput) => {
          node.status({ fill: 'green', shape: 'dot', text: t(out.c4c.gone ? 'gone' : 'sent', { topic: out.topic.slice(0, 24) }) });
          node.send({ _msgid: RED.util.generateId(), payload: out.payload, topic: out.topic, c4c: out.c4c });
        },
        fail: (err, event) => reportFailure(err, { _msgid: RED.util.generateId(), topic: `${event.businessObject}.${event.event}`, c4c: { businessObject: event.businessObject, objectId: event.objectId, event: event.event, eventId: event.eventId } }),
        duplicate: () => node.status({ fill: 'grey', shape: 'dot', text: t('duplicate') }),
      })
      : undefined;

    node.on('input', (msg, _send, done) => {
      const res = rawResponse(msg);
      const req = msg.req as { method?: string; headers?: Record<string, unknown> } | undefined;
      if (!res || !req) {
        done(Object.assign(new Error(RED._('c4c-event-in.errors.no-http')), { code: 'C4C_INPUT' }));
        return;
      }
      const method = String(req.method || 'POST').toUpperCase();
      // C4C's connectivity check
      if (method === 'GET' || method === 'HEAD') {
        answer(res, { statusCode: 200, contentType: TEXT, body: 'ok' });
        done();
        return;
      }
      if (unset.length || !checkBasic(req.headers?.authorization, username, password)) {
        res.setHeader('WWW-Authenticate', 'Basic realm="c4c-event-in"');
        answer(res, { statusCode: 401, contentType: TEXT, body: 'unauthorized' });
        node.status({ fill: 'yellow', shape: 'ring', text: t('refused', { status: 401 }) });
        done();
        return;
      }
      if (!pipeline || !system) {
        answer(res, { statusCode: 503, contentType: TEXT, body: 'c4c-event-in: not configured' });
        done();
        return;
      }
      const body = msg.payload !== undefined && msg.payload !== null && msg.payload !== '' ? msg.payload : (msg.req as { body?: unknown }).body;
      const parsed = parseEvent(body, { tenant: system.baseUrl, collections });
      if (!parsed.ok) {
        // nothing is read, and no request goes to any host
        answer(res, { statusCode: 400, contentType: TEXT, body: parsed.detail });
        node.status({ fill: 'yellow', shape: 'ring', text: t('refused', { status: 400 }) });
        if (parsed.reason === 'endpoint') node.warn(RED._('c4c-event-in.warn.endpoint', { detail: parsed.detail }));
        done();
        return;
      }
      pipeline.accept(parsed.event).then(() => {
        // accepted: C4C's call is answered now, the read-back runs from the queue
        answer(res, { statusCode: 202, contentType: TEXT, body: 'accepted' });
        done();
      }, (err: Error) => {
        // not queued: C4C retries on a 5xx
        answer(res, { statusCode: 503, contentType: TEXT, body: 'event store unavailable' });
        node.status({ fill: 'red', shape: 'ring', text: t('store-down') });
        done(Object.assign(new Error(RED._('c4c-event-in.errors.store', { message: err.message })), { code: 'STORE_UNAVAILABLE' }));
      });
    });

    node.on('close', (_removed: boolean, closed: () => void) => {
      const stops = [pipeline ? pipeline.close() : Promise.resolve(), own ? own.close() : Promise.resolve()];
      Promise.all(stops).then(() => closed(), () => closed());
    });
  }
  RED.nodes.registerType('c4c-event-in', C4CEventIn, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
    },
  });
};
