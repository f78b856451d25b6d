import type { TokenInfo } from '../../lib/wechat/api';
import { codeOf, WeChatC4CError } from '../../lib/errors';
import { failureReporter } from '../shared/failure';
import { numberOr } from '../shared/config';
import type { NodeInstance, NodeMessage, NodeRED } from '../shared/types';
import type { WeChatConfigNode } from '../wechat-config/wechat-config';

function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

module.exports = function (RED: NodeRED) {
  const reportFailure = failureReporter(RED);
  function TokenRefresh(this: NodeInstance, config: Record<string, any>) {
    RED.nodes.createNode(this, config);
    const node = this;
    const accountNode = RED.nodes.getNode(config.account) as WeChatConfigNode | null;
    const refreshAhead = numberOr(config.refreshAhead, 300);
    const emitToken = config.emitToken === true || config.emitToken === 'true';
    const client = accountNode?.client;

    if (!client) {
      const problem = accountNode ? 'token-refresh.status.no-secret' : 'token-refresh.status.no-account';
      // the variable (or field) that is missing, when that is why
      node.status({ fill: 'red', shape: 'ring', text: accountNode?.missingStatus ?? problem });
      node.on('input', (msg, _send, done) => reportFailure(node, new WeChatC4CError('WECHAT_CONFIG', RED._(problem)), msg, done));
      return;
    }

    const output = (info: TokenInfo, base: NodeMessage = {}): NodeMessage => {
      const msg: NodeMessage = { ...base, topic: 'wechat/token', payload: { expiresAt: info.expiresAt, expiresIn: info.expiresIn, mode: info.mode, refreshedAt: info.refreshedAt } };
      return msg;
    };
    const withToken = async (msg: NodeMessage): Promise<NodeMessage> => {
      if (emitToken) msg.accessToken = await client.getToken();
      return msg;
    };
    const showValid = (info: TokenInfo): void => {
      node.status({ fill: 'green', shape: 'dot', text: RED._('token-refresh.status.valid', { until: clock(info.expiresAt), mode: info.mode }) });
    };
    const redact = (t: string): string => client.redact(t);

    // Every refresh of the account's token, whoever caused it (the timer, a push that needed one,
    // another token-refresh node, an input), is shown and sent. An outage (the timer's retries
    // failing one after the other) is reported once, when it starts; the status follows each try.
    let inputPending = false;
    let outage = false;
    const onToken = (info: TokenInfo): void => {
      outage = false;
      showValid(info);
      if (inputPending) return; // the input handler sends its own message
      void withToken(output(info)).then((m) => node.send(m), () => undefined);
    };
    const onError = (err: Error): void => {
      // the status follows each try; Catch hears of an outage once, when it starts
      const report = !inputPending && !outage;
      if (report) outage = true;
      const msg = { topic: 'wechat/token', payload: { code: codeOf(err) } };
      reportFailure(node, err, msg, report ? undefined : () => undefined, { redact });
    };
    client.on('token', onToken);
    client.on('token-error', onError);
    node.status({ fill: 'yellow', shape: 'ring', text: 'token-refresh.status.starting' });
    client.startAutoRefresh(node.id, refreshAhead);

    node.on('input', (msg, send, done) => {
      // An input forces a refresh; stable mode sends force_refresh only when msg.forceRefresh is true
      // (WeChat allows 20 a day).
      inputPending = true;
      client.refresh({ force: client.mode === 'stable' && msg.forceRefresh === true })
        .then((record) => withToken(output({ expiresAt: record.expiresAt, expiresIn: record.expiresIn, mode: record.mode, refreshedAt: record.refreshedAt }, msg)))
        .then((m) => {
          inputPending = false;
          send(m);
          done();
        }, (err: Error) => {
          inputPending = false;
          // One report per outage: an input during an outage already reported only updates the status.
          const report = !outage || (err as Error & { code?: string }).code === 'FORCE_REFRESH_TOO_SOON';
          if ((err as Error & { code?: string }).code !== 'FORCE_REFRESH_TOO_SOON') outage = true;
          reportFailure(node, err, msg, report ? done : () => done(), { redact });
        });
    });

    node.on('close', (_removed, done) => {
      client.off('token', onToken);
      client.off('token-error', onError);
      client.stopAutoRefresh(node.id);
      done();
    });
  }
  RED.nodes.registerType('token-refresh', TokenRefresh);
};
