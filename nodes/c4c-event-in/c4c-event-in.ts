import { basicAuthOk } from '../../lib/http/basic-auth';
import { C4CInputError } from '../../lib/c4c/errors';
import { EventPipeline, parseCollections, parseEvent, type C4CEvent, type EventOutput } from '../../lib/c4c/events';
import { StoreError } from '../../lib/store/errors';
import { inboundCredentials, numberOr, SECRET_ENV } from '../shared/config';
import { failureReporter } from '../shared/failure';
import { answer, rawResponse } from '../shared/http';
import { fit } from '../shared/status';
import type { NodeInstance, NodeRED } from '../shared/types';
import type { C4CConfigNode } from '../c4c-config/c4c-config';

const TEXT = 'text/plain; charset=utf-8';

module.exports = function (RED: NodeRED) {
  const reportFailure = failureReporter(RED);
  function C4CEventIn(this: NodeInstance, config: Record<string, any>) {
    RED.nodes.createNode(this, config);
    const node = this;
    const system = RED.nodes.getNode(config.system) as C4CConfigNode | null;
    const readBackOn = config.readBack === undefined ? true : config.readBack === true || config.readBack === 'true';
    const dedupeWindowMs = numberOr(config.dedupeWindow, 600, 1) * 1000;
    const claimAfterMs = numberOr(config.claimAfter, 30, 1) * 1000;
    const creds = node.credentials || {};
    // a credential left empty falls back to its documented environment variable; neither: no check
    // (credentials given as an unset ${VAR}: every POST is refused rather than let through unchecked)
    const { username, password, fromEnv, unset } = inboundCredentials(creds, SECRET_ENV['c4c-event-in']);
    if (fromEnv.length) node.log(RED._('c4c-event-in.info.from-env', { secrets: fromEnv.join(', ') }));
    /** A status with values, in the runtime's language; fixed statuses go as keys the editor translates. */
    const t = (key: string, vars: Record<string, unknown>): string => fit(RED._(`c4c-event-in.status.${key}`, vars));

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

    if (!system) node.status({ fill: 'red', shape: 'ring', text: 'c4c-event-in.status.no-system' });
    else if (problem) node.status({ fill: 'red', shape: 'ring', text: 'c4c-event-in.status.config' });
    else if (system.problem) node.status({ fill: 'red', shape: 'ring', text: system.missingStatus ?? 'c4c-event-in.status.config' });
    else node.status({ fill: 'grey', shape: 'ring', text: 'c4c-event-in.status.ready' });

    // The dedupe claims, the queue and the per-object locks: the c4c-config's store, shared (Redis)
    // or its own memory (one process: an instance that stops loses what it had queued).
    const scope = `c4c-events:${system?.tenant ?? 'tenant'}:${node.id}`;
    const pipeline = system && !problem
      ? new EventPipeline({
        queue: system.store.queue<C4CEvent>(`c4c-event-in:${node.id}`, { claimAfterMs }),
        deliveries: system.store.deliveries(scope),
        locks: system.store.locks(scope),
        dedupeWindowMs,
        reader: () => system.client,
        readBack: readBackOn,
        emit: (out: EventOutput) => {
          node.status({ fill: 'green', shape: 'dot', text: t(out.c4c.gone ? 'gone' : 'sent', { topic: out.topic.slice(0, 24) }) });
          node.send({ _msgid: RED.util.generateId(), payload: out.payload, topic: out.topic, c4c: out.c4c });
        },
        // from the queue: to Catch nodes with a msg naming the event
        fail: (err, event) => reportFailure(node, err, { _msgid: RED.util.generateId(), topic: `${event.businessObject}.${event.event}`, c4c: { businessObject: event.businessObject, objectId: event.objectId, event: event.event, eventId: event.eventId } }, undefined, { redact: system.redact }),
        duplicate: () => node.status({ fill: 'grey', shape: 'dot', text: 'c4c-event-in.status.duplicate' }),
      })
      : undefined;

    node.on('input', (msg, _send, done) => {
      const res = rawResponse(msg);
      const req = msg.req as { method?: string; headers?: Record<string, unknown> } | undefined;
      if (!res || !req) {
        reportFailure(node, new C4CInputError(RED._('c4c-event-in.errors.no-http')), msg, done);
        return;
      }
      const method = String(req.method || 'POST').toUpperCase();
      // C4C's connectivity check
      if (method === 'GET' || method === 'HEAD') {
        answer(res, { statusCode: 200, contentType: TEXT, body: 'ok' });
        done();
        return;
      }
      if (unset.length || !basicAuthOk(req.headers?.authorization, username, password)) {
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
        reportFailure(node, new StoreError('STORE_UNAVAILABLE', RED._('c4c-event-in.errors.store', { message: err.message })), msg, done);
      });
    });

    node.on('close', (_removed: boolean, closed: () => void) => {
      Promise.resolve(pipeline?.close()).then(() => closed(), () => closed());
    });
  }
  RED.nodes.registerType('c4c-event-in', C4CEventIn, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
    },
  });
};
