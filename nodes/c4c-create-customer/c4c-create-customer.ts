import { randomUUID } from 'node:crypto';
import { C4CError } from '../../lib/c4c/errors';
import { codeOf } from '../../lib/errors';
import { failureReporter } from '../shared/failure';
import { StoreError } from '../../lib/store/errors';
import type { WorkQueue } from '../../lib/store/types';
import { numberOr } from '../shared/config';
import type { CustomerResult } from '../../lib/c4c/customer';
import { evaluate } from '../shared/evaluate';
import type { NodeInstance, NodeMessage, NodeRED } from '../shared/types';
import type { C4CConfigNode } from '../c4c-config/c4c-config';
import { TtlCache } from '../../lib/util/ttl-cache';


module.exports = function (RED: NodeRED) {
  const reportFailure = failureReporter(RED);
  function C4CCreateCustomer(this: NodeInstance, config: Record<string, any>) {
    RED.nodes.createNode(this, config);
    const node = this;
    const system = RED.nodes.getNode(config.system) as C4CConfigNode | null;
    const entitySet = String(config.entitySet || 'IndividualCustomerCollection');
    const firstName = config.firstName === undefined ? 'Wechat' : config.firstName;
    const firstNameType = config.firstNameType || 'str';
    const lastName = config.lastName === undefined || config.lastName === '' ? 'wechat.openid' : config.lastName;
    const lastNameType = config.lastNameType || 'msg';
    const roleCode = String(config.roleCode || 'CRM000');
    const fields = config.fields ?? '';
    const fieldsType = config.fieldsType || 'json';
    const lookup = config.lookup === undefined ? true : config.lookup === true || config.lookup === 'true';
    const lookupField = String(config.lookupField || 'LastName');
    const identificationType = String(config.identificationType ?? '').trim();
    const idempotentCreate = config.idempotentCreate === true || config.idempotentCreate === 'true';
    if (!system) node.status({ fill: 'red', shape: 'ring', text: 'c4c-create-customer.status.no-system' });
    else if (system.problem) node.status({ fill: 'red', shape: 'ring', text: system.missingStatus ?? 'c4c-create-customer.status.config' });
    else node.status({ fill: 'grey', shape: 'ring', text: 'c4c-create-customer.status.ready' });

    /** One input's work: look up / create, then send the output or report the error (done). */
    const handle = (msg: NodeMessage, send: (m: NodeMessage) => void, done: (err?: Error) => void, recovered = false): void => {
      const customers = system?.customers;
      if (!system || !customers) {
        reportFailure(node, new C4CError(system?.problem || RED._('c4c-create-customer.status.no-system'), 'C4C_CONFIG'), msg, done);
        return;
      }
      node.status({ fill: 'blue', shape: 'dot', text: 'c4c-create-customer.status.working' });
      const hasFields = !(fieldsType === 'json' && String(fields).trim() === '');
      // A property that cannot be read (msg.wechat missing, say) is an input error, like an empty one.
      const read = (field: string, value: unknown, type: string): Promise<unknown> => evaluate(RED, node, msg, value, type).catch((err: Error) => {
        throw new C4CError(RED._('c4c-create-customer.errors.evaluate', { field, type, value: String(value), error: err.message }), 'C4C_INPUT');
      });
      Promise.all([
        read('FirstName', firstName, firstNameType),
        read('LastName', lastName, lastNameType),
        hasFields ? read('fields', fields, fieldsType) : Promise.resolve(undefined),
      ]).then(([first, last, extra]) => {
        // The service builds and checks the request; the node only evaluated its properties.
        const wechat = (msg as { wechat?: { openid?: unknown } }).wechat;
        const request = customers.buildRequest({ entitySet, roleCode, firstName: first, lastName: last, fields: extra, lookup, lookupField, identificationType, idempotentCreate, openid: wechat?.openid });
        return customers.createOrFind(request);
      }).then((result: CustomerResult) => {
        msg.payload = result.entity;
        msg.c4c = { created: result.created, customerId: result.customerId, objectId: result.objectId, ...(recovered ? { recovered: true } : {}) };
        if (result.matches > 1) node.warn(RED._('c4c-create-customer.warn.duplicates', { field: lookupField, id: result.customerId ?? '?' }));
        node.status({ fill: 'green', shape: 'dot', text: RED._(result.created ? 'c4c-create-customer.status.created' : 'c4c-create-customer.status.found', { id: result.customerId ?? '?' }) });
        send(msg);
        done();
      }).catch((err: Error) => {
        const client = system.client;
        // an error without a code of its own (a $metadata the service could not read, say) is C4C_ERROR
        const e = codeOf(err) === 'ERROR' ? Object.assign(new C4CError(err.message, 'C4C_ERROR'), { stack: err.stack }) : err;
        if (recovered) msg.c4c = { ...(msg.c4c && typeof msg.c4c === 'object' ? msg.c4c : {}), recovered: true };
        reportFailure(node, e, msg, done, { redact: (t) => (client ? client.redact(t) : t) });
      });
    };

    // Every input goes on the c4c-config's work queue. Memory: run at once in this process.
    // Redis (c4c-config → wechat-c4c-redis): a Stream all instances running this flow share; each
    // takes work from it, and work an instance took but never finished (it died) is claimed by a
    // living one after `claimAfter` seconds.
    type Job = { uid: string; msgid?: string; payload: unknown; topic?: unknown; wechat?: unknown };
    const claimAfterMs = numberOr(config.claimAfter, 30, 1) * 1000;
    const queue: WorkQueue<Job> | undefined = system?.customers ? system.store.queue<Job>(`c4c-create-customer:${node.id}`, { claimAfterMs }) : undefined;
    /**
     * The inputs this instance queued, with their send and done, so that its own work is sent on
     * with every property of the msg and settles its input. Once an input is done while its work
     * waits (it may run on another instance), its msg.req/msg.res go (the HTTP exchange is over).
     * Work another instance takes leaves its entry here: entries go after ORIGINALS_MS, and past
     * 10,000 the oldest.
     */
    type Original = { msg: NodeMessage; send: (m: NodeMessage) => void; done: ((err?: Error) => void) | undefined };
    const ORIGINALS_MS = 10 * 60 * 1000;
    const originals = new TtlCache<Original>(10000);
    /**
     * Work this instance only queued (its status says "queued"): when every piece of it is done —
     * on whichever instance ran it — the status says so instead of staying "queued".
     */
    const waiting = new Set<string>();
    const doneEarly = new TtlCache<true>(1000); // done reported before add() had answered here
    const offDone = queue?.onDone((id) => {
      if (!waiting.delete(id)) {
        doneEarly.set(id, true, 60000);
        return;
      }
      if (waiting.size === 0) node.status({ fill: 'green', shape: 'ring', text: 'c4c-create-customer.status.done-elsewhere' });
    });
    queue?.consume((item) => new Promise<void>((resolve) => {
      waiting.delete(item.id); // taken here: this instance's own statuses follow
      const job = item.data;
      const original = originals.get(job.uid);
      originals.delete(job.uid);
      // another instance's input (or a dead one's): the properties the queue carries
      const msg: NodeMessage = original?.msg ?? { _msgid: job.msgid || RED.util.generateId(), payload: job.payload, topic: job.topic, wechat: job.wechat };
      const settle = original?.done;
      handle(msg, original?.send ?? ((m) => node.send(m)), (err) => {
        if (settle) settle(err);
        else if (err) node.error(err, msg); // to Catch, with the msg
        resolve();
      }, item.recovered);
    }));

    node.on('input', (msg, send, done) => {
      if (!queue) { // no usable c4c-config: handle() says so
        handle(msg, send, done);
        return;
      }
      const uid = randomUUID();
      const original: Original = { msg, send, done };
      originals.set(uid, original, ORIGINALS_MS);
      queue.add({ uid, msgid: msg._msgid, payload: msg.payload, topic: msg.topic, wechat: msg.wechat }).then((id) => {
        // not taken here yet: the work may run on another instance, this one says only that it is
        // queued (and its input is done; the output and errors come from whichever instance runs it)
        if (originals.get(uid) !== undefined && !doneEarly.get(id)) {
          waiting.add(id);
          const { req: _req, res: _res, ...kept } = msg;
          original.msg = kept;
          original.done = undefined;
          node.status({ fill: 'blue', shape: 'ring', text: 'c4c-create-customer.status.queued' });
          done();
        } else if (originals.get(uid) !== undefined) {
          // done elsewhere before add() answered here: the input is settled, nothing stays queued
          originals.delete(uid);
          done();
        }
      }, (err: Error) => {
        originals.delete(uid);
        reportFailure(node, new StoreError('STORE_UNAVAILABLE', RED._('c4c-create-customer.errors.store', { message: err.message })), msg, done);
      });
    });

    node.on('close', (_removed: boolean, closed: () => void) => {
      offDone?.();
      waiting.clear();
      originals.clear();
      Promise.resolve(queue?.close()).then(() => closed(), () => closed());
    });
  }
  RED.nodes.registerType('c4c-create-customer', C4CCreateCustomer);
};
