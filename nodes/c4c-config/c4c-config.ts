import { C4CClient } from '../../lib/c4c/client';
import { CustomerService } from '../../lib/c4c/customer';
import type { StoreProvider } from '../../lib/store/types';
import { configured, numberOr, SECRET_ENV, secretOr } from '../shared/config';
import { fit } from '../shared/status';
import { storeOf } from '../shared/store';
import type { NodeInstance, NodeRED } from '../shared/types';

export interface C4CConfigNode extends NodeInstance {
  client: C4CClient | undefined;
  customers: CustomerService | undefined;
  problem: string | undefined;
  /** `missing __name__` (the variable or field) in the runtime's language, for a red status. */
  missingStatus: string | undefined;
  /** The Tenant URL as deployed (Test connection sends stored secrets only there). */
  baseUrl: string;
  /** host[:port] of the Tenant URL, never a user:password@ it may carry: the scope of shared-store keys. */
  tenant: string;
  /** The store: a wechat-c4c-redis node's, or this node's own memory store. */
  store: StoreProvider;
  /** Scrubs this tenant's secrets from a text (the client's redact; as it is without a client). */
  redact(text: string): string;
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
    // An empty user or password falls back to its documented variable (SECRET_ENV), said once in the log.
    const user = auth === 'basic' ? secretOr(creds.username, SECRET_ENV['c4c-config'].username) : configured(creds.username);
    const pass = auth === 'basic' ? secretOr(creds.password, SECRET_ENV['c4c-config'].password) : configured(creds.password);
    const fromEnv = [user, pass].map((c) => ('fromEnv' in c ? c.fromEnv : undefined)).filter(Boolean);
    if (fromEnv.length) this.log(RED._('c4c-config.info.from-env', { secrets: fromEnv.join(', ') }));
    const cert = configured(creds.certificate);
    const key = configured(creds.privateKey);
    const language = configured(config.language).value || 'en';
    const baseUrl = base.value;
    this.baseUrl = baseUrl;
    this.tenant = tenantOf(baseUrl);
    const chosen = storeOf(RED, config.store, 'c4c-config');
    this.store = chosen.provider;
    this.redact = (text: string): string => (this.client ? this.client.redact(text) : text);
    const missing = (auth === 'basic' ? [base.missing, user.missing, pass.missing] : [base.missing, cert.missing, key.missing]).filter(Boolean);
    this.missingStatus = missing.length ? fit(RED._('c4c-config.status.missing', { name: missing[0] as string })) : undefined;
    // a field left empty whose variable is not set either: name both
    const emptyField = auth === 'basic' ? (['username', 'password'] as const).find((f) => !configured(creds[f]).missing && (f === 'username' ? user : pass).missing) : undefined;
    this.problem = chosen.problem ? chosen.problem
      : emptyField ? RED._('c4c-config.errors.secret-missing', { field: emptyField, name: SECRET_ENV['c4c-config'][emptyField] })
      : missing.length ? RED._('c4c-config.errors.env-missing', { name: missing.join(', ') })
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
        const tenant = this.tenant;
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
