import { WeChatC4CError } from '../../lib/errors';
import { failureReporter } from '../shared/failure';
import { buildFallback, buildPush, deliverPush, FALLBACKS, FallbackError, PUSH_TYPES, type Fallback, type PushType } from '../../lib/wechat/push';
import { configured } from '../shared/config';
import { evaluate } from '../shared/evaluate';
import type { NodeInstance, NodeRED } from '../shared/types';
import type { WeChatConfigNode } from '../wechat-config/wechat-config';

module.exports = function (RED: NodeRED) {
  const reportFailure = failureReporter(RED);
  function WeChatPush(this: NodeInstance, config: Record<string, any>) {
    RED.nodes.createNode(this, config);
    const node = this;
    const accountNode = RED.nodes.getNode(config.account) as WeChatConfigNode | null;
    const msgtype: PushType = (PUSH_TYPES as readonly string[]).includes(config.msgtype) ? config.msgtype : 'text';
    const touser = config.touser || 'wechat.openid';
    const touserType = config.touserType || 'msg';
    const content = config.content || 'payload';
    const contentType = config.contentType || 'msg';
    const templateId = String(config.templateId || '');
    // The fallback after 45015/45047. An unset ${VAR} as template ID means "no fallback".
    const fallbackTemplate = configured(config.fallbackTemplateId);
    const fallbackTemplateId = fallbackTemplate.value;
    // An unset or empty ${WECHAT_TEMPLATE_ID} means "no fallback" (the bundled flow relies on it).
    const fallback: Fallback = (FALLBACKS as readonly string[]).includes(config.fallback) && fallbackTemplateId ? config.fallback : 'none';
    if (config.fallback && config.fallback !== 'none' && fallback === 'none') {
      node.log(RED._('wechat-push.log.no-fallback', { name: fallbackTemplate.missing ?? 'fallbackTemplateId' }));
    }
    const fallbackData = config.fallbackData ?? '';
    const fallbackDataType = config.fallbackDataType || 'json';
    const fallbackUrl = configured(config.fallbackUrl).value;
    let sent = 0;
    // first/remark/colours are dropped (WeChat ignores them since 2023-05-04): said once per node.
    let warnedDropped = false;
    const warnDropped = (dropped: string[] | undefined) => {
      if (warnedDropped || !dropped?.length) return;
      warnedDropped = true;
      node.warn(RED._('wechat-push.warn.dropped', { fields: dropped.join(', ') }));
    };

    const client = accountNode?.client;
    if (!accountNode) node.status({ fill: 'red', shape: 'ring', text: 'wechat-push.status.no-account' });
    else if (!client) node.status({ fill: 'red', shape: 'ring', text: accountNode.missingStatus ?? 'wechat-push.status.no-secret' });
    else node.status({});

    node.on('input', (msg, send, done) => {
      if (!client) {
        reportFailure(node, new WeChatC4CError('WECHAT_CONFIG', RED._(accountNode ? 'wechat-push.status.no-secret' : 'wechat-push.status.no-account')), msg, done);
        return;
      }
      node.status({ fill: 'blue', shape: 'dot', text: 'wechat-push.status.sending' });
      Promise.all([
        evaluate(RED, node, msg, touser, touserType),
        evaluate(RED, node, msg, content, contentType),
        fallback === 'none' ? undefined : evaluate(RED, node, msg, fallbackData, fallbackDataType),
      ])
        .then(([to, value, data]) => {
          const recipient = to === undefined || to === null ? '' : String(to);
          const req = buildPush(msgtype, recipient, value, templateId);
          // Built (and checked against WeChat's template rules) before anything is sent.
          const alt = fallback !== 'none' && req.api === 'custom' ? buildFallback(fallback, String(req.body.touser ?? recipient), fallbackTemplateId, data, fallbackUrl) : undefined;
          warnDropped([...req.dropped ?? [], ...alt?.dropped ?? []]);
          return deliverPush(client, req, alt);
        })
        .then((outcome) => {
          sent++;
          msg.payload = outcome.answer;
          msg.wechatPush = outcome.msgid ? { channel: outcome.channel, msgid: outcome.msgid } : { channel: outcome.channel };
          node.status({ fill: outcome.channel === 'custom' ? 'green' : 'yellow', shape: 'dot', text: RED._(outcome.channel === 'template' ? 'wechat-push.status.sent-template' : outcome.channel === 'subscribe' ? 'wechat-push.status.sent-subscribe' : 'wechat-push.status.sent-custom', { count: sent }) });
          send(msg);
          done();
        })
        .catch((err: unknown) => {
          // A Catch node sees msg.error.code (the fallback's code) and, here, both codes.
          if (err instanceof FallbackError) msg.wechatPush = { channel: err.channel, failed: true, firstCode: err.firstCode, codes: err.codes };
          reportFailure(node, err, msg, done, { redact: (t) => client.redact(t) });
        });
    });
  }
  RED.nodes.registerType('wechat-push', WeChatPush);
};
