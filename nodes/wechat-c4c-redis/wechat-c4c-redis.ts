import { RedisStoreProvider, redactRedisUrl } from '../../lib/store/redis';
import type { StoreProvider } from '../../lib/store/types';
import { configured } from '../shared/config';
import type { NodeInstance, NodeRED } from '../shared/types';

export interface WeChatC4CRedisNode extends NodeInstance {
  /** The shared store; undefined when the URL is not configured (see `problems`). */
  store: StoreProvider | undefined;
  /** The URL without its password, for logs and the editor. */
  displayUrl: string;
  prefix: string;
  /** Translated configuration errors (never containing a secret); empty when usable. */
  problems: string[];
  /**
   * The URL is a `${VAR}` that is not set (the bundled flow's `${REDIS_URL}`): no Redis, the
   * config nodes that use this one keep their state in memory, as without a store.
   */
  off: boolean;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';
const DEFAULT_PREFIX = 'wechat-c4c:';

module.exports = function (RED: NodeRED) {
  function WeChatC4CRedis(this: WeChatC4CRedisNode, config: Record<string, any>) {
    RED.nodes.createNode(this, config);
    const creds = this.credentials || {};
    this.name = config.name;
    this.problems = [];
    const url = configured(config.url);
    const prefix = configured(config.prefix);
    const username = configured(creds.username);
    const password = configured(creds.password);
    // `${REDIS_URL}` unset or set empty (the bundled flow without Redis): no Redis. A flow without
    // the property at all gets the default URL.
    this.off = !!url.missing || (config.url !== undefined && url.value === '');
    for (const c of [prefix, username, password]) {
      if (c.missing) this.problems.push(RED._('wechat-c4c-redis.errors.env-missing', { name: c.missing }));
    }
    this.prefix = prefix.missing ? DEFAULT_PREFIX : prefix.value || DEFAULT_PREFIX;
    const target = url.missing ? '' : url.value || DEFAULT_URL;
    this.displayUrl = target ? redactRedisUrl(target) : '';
    if (this.off) this.log(RED._('wechat-c4c-redis.log.off', { name: url.missing || 'URL' }));
    if (target && !/^rediss?:\/\/[^\s]+$/.test(target)) {
      this.problems.push(RED._('wechat-c4c-redis.errors.url-invalid', { url: this.displayUrl }));
    }
    this.store = undefined;
    if (!this.problems.length && !this.off) {
      const store = new RedisStoreProvider({ url: target, username: username.value, password: password.value, prefix: this.prefix });
      store.on('up', () => this.log(RED._('wechat-c4c-redis.log.up', { url: this.displayUrl })));
      store.on('down', (err?: Error) => this.warn(RED._('wechat-c4c-redis.log.down', { url: this.displayUrl, message: err?.message ?? '' })));
      this.store = store;
    } else if (this.problems.length) {
      this.warn(this.problems.join('; '));
    }
    this.on('close', (_removed: boolean, done: () => void) => {
      const store = this.store;
      this.store = undefined;
      if (!store) { done(); return; }
      store.close().then(() => done(), () => done());
    });
  }
  RED.nodes.registerType('wechat-c4c-redis', WeChatC4CRedis, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
    },
  });
};
