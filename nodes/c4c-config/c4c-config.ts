import { C4CClient } from '../../lib/c4c/client';
import { CustomerService } from '../../lib/c4c/customer';
import { configured, numberOr } from '../shared/config';
import type { NodeInstance, NodeRED } from '../shared/types';

export interface C4CConfigNode extends NodeInstance {
  client: C4CClient | undefined;
  customers: CustomerService | undefined;
  problem: string | undefined;
}

module.exports = function (RED: NodeRED) {
  function C4CConfig(this: C4CConfigNode, config: Record<string, any>) {
    RED.nodes.createNode(this, config);
    const creds = this.credentials || {};
    const base = configured(config.baseUrl);
    const user = configured(creds.username);
    const pass = configured(creds.password);
    const baseUrl = base.value;
    const username = user.value;
    const password = pass.value;
    const missing = [base.missing, user.missing, pass.missing].filter(Boolean);
    this.problem = missing.length ? RED._('c4c-config.errors.env-missing', { name: missing.join(', ') })
      : !/^https?:\/\/[^\s/]+/.test(baseUrl) ? RED._('c4c-config.errors.base-url')
        : !username || !password ? RED._('c4c-config.errors.credentials') : undefined;
    if (this.problem) {
      this.warn(this.problem);
      this.client = undefined;
      this.customers = undefined;
    } else {
      this.client = new C4CClient({
        baseUrl,
        servicePath: String(config.servicePath || '/sap/c4c/odata/v1/c4codataapi'),
        username,
        password,
        maxConcurrency: numberOr(config.maxConcurrency, 4, 1),
        timeoutMs: numberOr(config.timeout, 30000, 100),
        retries: numberOr(config.retries, 3),
        backoffBaseMs: numberOr(config.backoffBase, 1000, 1),
      });
      this.customers = new CustomerService(this.client);
    }
    this.on('close', (_removed: boolean, done: () => void) => {
      this.client?.close();
      done();
    });
  }
  (require('../shared/check') as typeof import('../shared/check')).registerChecks(RED); // Test connection (admin API)
  RED.nodes.registerType('c4c-config', C4CConfig, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
    },
  });
};
