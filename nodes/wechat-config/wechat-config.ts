import { WeChatClient, type TokenRecord } from '../../lib/wechat/api';
import { MemorySharedTokenStore } from '../../lib/store/memory';
import { WeChatAccount } from '../../lib/wechat/account';
import { DEFAULT_MAX_ENCRYPT_BYTES } from '../../lib/wechat/inbound';
import { FallbackDeliveryStore, FallbackTokenStore } from '../../lib/store/fallback';
import { MemoryDeliveryStore } from '../../lib/store/memory-delivery';
import type { StoreProvider } from '../../lib/store/types';
import { configured, numberOr, SECRET_ENV, secretOr } from '../shared/config';
import { fit } from '../shared/status';
import { storeOf } from '../shared/store';
import type { NodeInstance, NodeRED } from '../shared/types';

export interface WeChatConfigNode extends NodeInstance {
  account: WeChatAccount;
  /** The API client (access token, pushes); undefined without an AppSecret. */
  client: WeChatClient | undefined;
  appId: string;
  apiBase: string;
  tokenMode: 'stable' | 'classic';
  replayWindow: number;
  /** safe | compatible | plain | any (lib/wechat/inbound.ts MessageMode). */
  messageMode: string;
  /** The variables (or fields) whose absence makes the account unusable, for the nodes' statuses. */
  missing: string[];
  /** `missing __name__` in the runtime's language, for a red status; undefined when nothing is missing. */
  missingStatus: string | undefined;
  /** Translated configuration errors (never containing a secret); empty when usable. */
  problems: string[];
  /** The store: a wechat-c4c-redis node's, or this node's own memory store. */
  store: StoreProvider;
}

module.exports = function (RED: NodeRED) {
  function WeChatConfig(this: WeChatConfigNode, config: Record<string, any>) {
    RED.nodes.createNode(this, config);
    const creds = this.credentials || {};
    const missing: string[] = [];
    const read = (v: unknown): string => {
      const c = configured(v);
      if (c.missing) missing.push(c.missing);
      return c.value;
    };
    this.name = config.name;
    this.appId = read(config.appId);
    const apiBase = configured(config.apiBase).value; // unset: WeChat's own
    this.apiBase = (apiBase || 'https://api.weixin.qq.com').replace(/\/+$/, '');
    // An empty secret field falls back to its documented variable (SECRET_ENV), said once in the log.
    const env = SECRET_ENV['wechat-config'];
    const fromEnv: string[] = [];
    /** fields left empty whose variable is not set either */
    const emptyFields: string[] = [];
    const secretOf = (name: keyof typeof env, required: boolean): ReturnType<typeof secretOr> => {
      const s = secretOr(creds[name], env[name]);
      if (s.fromEnv) fromEnv.push(`${name} ← ${s.fromEnv}`);
      if (s.missing && (required || configured(creds[name]).missing)) {
        missing.push(s.missing);
        if (!configured(creds[name]).missing) emptyFields.push(name);
      }
      return s;
    };
    // A flow saved without the property keeps taking the mode from each request ('any'); an unset
    // ${WECHAT_MESSAGE_MODE} (empty) is safe mode. configured() turns an unset ${VAR} into ''.
    const messageMode = config.messageMode === undefined ? undefined : configured(config.messageMode).value;
    const token = secretOf('token', true).value;
    // the key is needed in safe and compatible mode (an unset ${WECHAT_MESSAGE_MODE} is safe)
    const encodingAESKey = secretOf('encodingAESKey', messageMode !== undefined && !/^(plain|any)$/i.test(messageMode)).value;
    const previousKey = configured(creds.previousEncodingAESKey).value; // optional
    this.tokenMode = config.tokenMode === 'classic' ? 'classic' : 'stable';
    this.replayWindow = numberOr(config.replayWindow, 300);
    const chosen = storeOf(RED, config.store, 'wechat-config');
    const provider = chosen.provider;
    this.store = provider;
    const scope = this.appId || 'default';
    // Redis down: dedupe and tokens carry on in this instance's memory (said once per outage);
    // a memory store is never down.
    const down = (err?: Error): void => this.account?.storeState(false, err);
    const up = (): void => this.account?.storeState(true);
    const deliveries = new FallbackDeliveryStore(provider.deliveries(scope), new MemoryDeliveryStore(), down, up);
    this.account = new WeChatAccount({
      appId: this.appId,
      token,
      encodingAESKey,
      previousEncodingAESKey: previousKey,
      replayWindow: this.replayWindow,
      messageMode,
      maxEncryptBytes: numberOr(config.maxEncryptBytes, DEFAULT_MAX_ENCRYPT_BYTES),
    }, { deliveries });
    this.messageMode = this.account.inbound.messageMode ?? 'any';
    // still connecting right after a deploy is not "down": the provider says `down` on a failure
    provider.on('down', down);
    provider.on('up', up);
    // without an AppSecret nothing can be pushed: the nodes that push say which variable is missing
    const { value: secret, missing: secretMissing } = secretOf('appSecret', false);
    this.client = secret && this.appId ? new WeChatClient({
      apiBase: this.apiBase,
      appId: this.appId,
      secret,
      mode: this.tokenMode,
      secrets: [token, encodingAESKey, previousKey].filter((s): s is string => !!s),
      // Several instances: one token for all of them, renewed by one at a time.
      store: new FallbackTokenStore<TokenRecord>(provider.tokens<TokenRecord>(), new MemorySharedTokenStore<TokenRecord>(), down, up),
      lock: provider.locks(scope),
    }) : undefined;
    this.problems = [
      ...(chosen.problem ? [chosen.problem] : []),
      ...missing.map((name) => {
        const field = emptyFields.find((f) => env[f as keyof typeof env] === name);
        return field ? RED._('wechat-config.errors.secret-missing', { field, name }) : RED._('wechat-config.errors.env-missing', { name });
      }),
      // the account's own checks, unless they only repeat a variable named above
      ...this.account.problems.filter((p) => !(missing.length && /^(token-missing|aes-key-missing)$/.test(p))).map((p) => RED._(`wechat-config.errors.${p}`)),
    ];
    this.missing = [...missing, ...(secretMissing && !missing.includes(secretMissing) ? [secretMissing] : [])];
    this.missingStatus = this.missing.length ? fit(RED._('wechat-config.status.missing', { name: this.missing[0] })) : undefined;
    if (fromEnv.length) this.log(RED._('wechat-config.info.from-env', { secrets: fromEnv.join(', ') }));
    if (this.problems.length) this.warn(this.problems.join('; '));
    this.on('close', (_removed: boolean, done: () => void) => {
      (provider as unknown as NodeJS.EventEmitter).off('down', down);
      (provider as unknown as NodeJS.EventEmitter).off('up', up);
      this.client?.close();
      this.account.close().then(() => chosen.release()).then(() => done(), () => done());
    });
  }
  (require('../shared/check') as typeof import('../shared/check')).registerChecks(RED); // Test connection (admin API)
  RED.nodes.registerType('wechat-config', WeChatConfig, {
    credentials: {
      appSecret: { type: 'password' },
      token: { type: 'password' },
      encodingAESKey: { type: 'password' },
      previousEncodingAESKey: { type: 'password' },
    },
  });
};
