import { C4CClient } from '../../lib/c4c/client';
import { CustomerService } from '../../lib/c4c/customer';
import type { StoreProvider } from '../../lib/store/types';
import { configured, numberOr } from '../shared/config';
import { storeOf } from '../shared/store';
import type { NodeInstance, NodeRED } from '../shared/types';

export interface C4CConfigNode extends NodeInstance {
  client: C4CClient | undefined;
  customers: CustomerService | undefined;
  problem: string | undefined;
  /** The Tenant URL as deployed (Test connection sends stored secrets only there). */
  baseUrl: string;
  /** The store: a wechat-c4c-redis node's, or this node's own memory store. */
  store: StoreProvider;
}

/** host[:port] of the Tenant URL, lowercase, without any user:password@. */
function tenantOf(baseUrl: string): string {
  try {
    return new URL(baseUrl).host.toLowerCase();
  } catch {
    return baseUrl.replace(/^https?:\/\//, '').replace(/[/?#].*$/, '').replace(/^.*@/, '').toLowerCase();
  }
}

module.exports = function (RED: NodeRED) {
  function C4CConfig(this: C4CConfigNode, config: Record<string, any>) {
    RED.nodes.createNode(this, config);
    const creds = this.credentials || {};
    const auth = config.auth === 'certificate' ? 'certificate' : 'basic';
    const base = configured(config.baseUrl);
    const user = configured(creds.username);
    const pass = configured(creds.password);
    const cert = configured(creds.certificate);
    const key = configured(creds.privateKey);
    const language = configured(config.language).value || 'en';
    const baseUrl = base.value;
    this.baseUrl = baseUrl;
    const chosen = storeOf(RED, config.store, 'c4c-config');
    this.store = chosen.provider;
    const missing = (auth === 'basic' ? [base.missing, user.missing, pass.missing] : [base.missing, cert.missing, key.missing]).filter(Boolean);
    this.problem = chosen.problem ? chosen.problem : missing.length ? RED._('c4c-config.errors.env-missing', { name: missing.join(', ') })
      : !/^https?:\/\/[^\s/]+/.test(baseUrl) ? RED._('c4c-config.errors.base-url')
        : auth === 'basic' && (!user.value || !pass.value) ? RED._('c4c-config.errors.credentials')
          : auth === 'certificate' && (!/-----BEGIN [A-Z ]*CERTIFICATE-----/.test(cert.value) || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.value)) ? RED._('c4c-config.errors.certificate')
            : !/^[A-Za-z]{1,2}(-[A-Za-z0-9]{1,8})?$/.test(language) ? RED._('c4c-config.errors.language') : undefined;
    if (this.problem) {
      this.warn(this.problem);
      this.client = undefined;
      this.customers = undefined;
    } else {
      const timeoutMs = numberOr(config.timeout, 30000, 100);
      try {
        this.client = new C4CClient({
          baseUrl,
          servicePath: String(config.servicePath || '/sap/c4c/odata/v1/c4codataapi'),
          auth,
          username: user.value,
          password: pass.value,
          certificate: cert.value,
          privateKey: key.value,
          passphrase: configured(creds.passphrase).value,
          language,
          maxConcurrency: numberOr(config.maxConcurrency, 4, 1),
          batchSize: Math.floor(numberOr(config.batchSize, 20, 1)),
          timeoutMs,
          retry: { retries: numberOr(config.retries, 3), baseMs: numberOr(config.backoffBase, 1000, 1) },
        });
        // The per-follower lock is per tenant: in Redis when several instances share the work.
        // (the URL's host: never credentials a `user:password@` URL might carry, which would end up in key names)
        const tenant = tenantOf(baseUrl);
        this.customers = new CustomerService(this.client, { timeoutMs, onWarn: (text) => this.warn(text), locks: this.store.locks(`c4c:${tenant}`) });
      } catch (err) {
        // A key that does not match its certificate, a wrong passphrase: say so without the key.
        this.problem = RED._('c4c-config.errors.tls', { error: (err as Error).message.replace(/-----BEGIN[\s\S]*?-----END[^-]*-----/g, '[PEM]') });
        this.warn(this.problem);
        this.client = undefined;
        this.customers = undefined;
      }
    }
    this.on('close', (_removed: boolean, done: () => void) => {
      this.client?.close();
      chosen.release().then(() => done(), () => done());
    });
  }
  (require('../shared/check') as typeof import('../shared/check')).registerChecks(RED); // Test connection (admin API)
  RED.nodes.registerType('c4c-config', C4CConfig, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
      certificate: { type: 'password' },
      privateKey: { type: 'password' },
      passphrase: { type: 'password' },
    },
  });
};
