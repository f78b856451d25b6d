import { C4CError } from '../../lib/c4c/errors';
import { codeOf } from '../../lib/errors';
import { failureReporter } from '../shared/failure';
import { numberOr } from '../shared/config';
import type { CustomerResult } from '../../lib/c4c/customer';
import { evaluate } from '../shared/evaluate';
import type { NodeInstance, NodeMessage, NodeRED } from '../shared/types';
import type { C4CConfigNode } from '../c4c-config/c4c-config';
import { queuedWork, type Job } from '../shared/work';


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
        // an error without a code of its own (a $metadata the service could not read, say) is C4C_ERROR
        const e = codeOf(err) === 'ERROR' ? Object.assign(new C4CError(err.message, 'C4C_ERROR'), { stack: err.stack }) : err;
        if (recovered) msg.c4c = { ...(msg.c4c && typeof msg.c4c === 'object' ? msg.c4c : {}), recovered: true };
        reportFailure(node, e, msg, done, { redact: system.redact });
      });
    };

    // Every input goes on the c4c-config's work queue (nodes/shared/work.ts): memory runs it at
    // once in this process; Redis shares it between the instances running this flow.
    const claimAfterMs = numberOr(config.claimAfter, 30, 1) * 1000;
    const work = system?.customers ? queuedWork(RED, node, {
      type: 'c4c-create-customer',
      queue: system.store.queue<Job>(`c4c-create-customer:${node.id}`, { claimAfterMs }),
      shared: system.store.kind === 'redis',
      reportFailure,
      job: (msg) => ({ payload: msg.payload, topic: msg.topic, wechat: msg.wechat }),
      handle,
    }) : undefined;

    node.on('input', (msg, send, done) => {
      if (!work) { // no usable c4c-config: handle() says so
        handle(msg, send, done);
        return;
      }
      work.input(msg, send, done);
    });

    node.on('close', (_removed: boolean, closed: () => void) => {
      Promise.resolve(work?.close()).then(() => closed(), () => closed());
    });
  }
  RED.nodes.registerType('c4c-create-customer', C4CCreateCustomer);
};
