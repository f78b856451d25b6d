import { C4CError } from '../../lib/c4c/client';
import type { CustomerResult } from '../../lib/c4c/customer';
import { KeyedSerializer } from '../../lib/util/limiter';
import { evaluate } from '../shared/evaluate';
import type { NodeInstance, NodeRED } from '../shared/types';
import type { C4CConfigNode } from '../c4c-config/c4c-config';

module.exports = function (RED: NodeRED) {
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
    // Two messages for the same follower never race: one creates, the other finds it.
    const perKey = new KeyedSerializer();
    let created = 0;
    let found = 0;

    if (!system) node.status({ fill: 'red', shape: 'ring', text: RED._('c4c-create-customer.status.no-system') });
    else if (system.problem) node.status({ fill: 'red', shape: 'ring', text: system.problem });

    node.on('input', (msg, send, done) => {
      const customers = system?.customers;
      if (!system || !customers) {
        const text = system?.problem || RED._('c4c-create-customer.status.no-system');
        node.status({ fill: 'red', shape: 'ring', text });
        done(Object.assign(new Error(text), { code: 'C4C_CONFIG' }));
        return;
      }
      node.status({ fill: 'blue', shape: 'dot', text: RED._('c4c-create-customer.status.working') });
      const hasFields = !(fieldsType === 'json' && String(fields).trim() === '');
      // A property that cannot be read (msg.wechat missing, say) is an input error, like an empty one.
      const read = (field: string, value: unknown, type: string): Promise<unknown> => evaluate(RED, node, msg, value, type).catch((err: Error) => {
        throw Object.assign(new Error(RED._('c4c-create-customer.errors.evaluate', { field, type, value: String(value), error: err.message })), { code: 'C4C_INPUT' });
      });
      Promise.all([
        read('FirstName', firstName, firstNameType),
        read('LastName', lastName, lastNameType),
        hasFields ? read('fields', fields, fieldsType) : Promise.resolve(undefined),
      ]).then(([first, last, extra]) => {
        if (extra !== undefined && (typeof extra !== 'object' || extra === null || Array.isArray(extra))) {
          throw Object.assign(new Error(RED._('c4c-create-customer.errors.fields')), { code: 'C4C_INPUT' });
        }
        const body: Record<string, unknown> = { RoleCode: roleCode };
        if (first !== undefined && first !== null && first !== '') body.FirstName = String(first);
        body.LastName = last === undefined || last === null ? '' : String(last);
        Object.assign(body, extra as Record<string, unknown> | undefined);
        const request = { entitySet, body, lookup, lookupField };
        customers.validate(request); // before any request, and before queueing behind other messages
        const key = lookup ? `${lookupField}\u0000${String(body[lookupField])}` : `\u0000${msg._msgid ?? Math.random()}`;
        return perKey.run(key, () => customers.createOrFind(request));
      }).then((result: CustomerResult) => {
        if (result.created) created++;
        else found++;
        msg.payload = result.entity;
        msg.c4c = { created: result.created, customerId: result.customerId, objectId: result.objectId };
        if (result.matches > 1) node.warn(RED._('c4c-create-customer.warn.duplicates', { field: lookupField, id: result.customerId ?? '?' }));
        node.status({ fill: 'green', shape: 'dot', text: RED._(result.created ? 'c4c-create-customer.status.created' : 'c4c-create-customer.status.found', { id: result.customerId ?? '?', created, found }) });
        send(msg);
        done();
      }).catch((err: Error & { code?: string }) => {
        const client = system.client;
        const message = client ? client.redact(err.message) : err.message;
        const e = err instanceof C4CError ? err : Object.assign(new Error(message), { code: err.code ?? 'C4C_ERROR' });
        e.message = message;
        node.status({ fill: 'red', shape: 'ring', text: `${e.code ?? ''} ${message}`.trim().slice(0, 64) });
        done(e);
      });
    });
  }
  RED.nodes.registerType('c4c-create-customer', C4CCreateCustomer);
};
