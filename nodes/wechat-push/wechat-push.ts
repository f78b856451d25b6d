import { WeChatApiError } from '../../lib/wechat/api';
import { buildPush, PUSH_TYPES, type PushType } from '../../lib/wechat/push';
import { evaluate } from '../shared/evaluate';
import type { NodeInstance, NodeRED } from '../shared/types';
import type { WeChatConfigNode } from '../wechat-config/wechat-config';

module.exports = function (RED: NodeRED) {
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
    let sent = 0;

    const client = accountNode?.client;
    if (!accountNode) node.status({ fill: 'red', shape: 'ring', text: RED._('wechat-push.status.no-account') });
    else if (!client) node.status({ fill: 'red', shape: 'ring', text: RED._('wechat-push.status.no-secret') });

    node.on('input', (msg, send, done) => {
      if (!client) {
        done(Object.assign(new Error(RED._(accountNode ? 'wechat-push.status.no-secret' : 'wechat-push.status.no-account')), { code: 'CONFIG' }));
        return;
      }
      node.status({ fill: 'blue', shape: 'dot', text: RED._('wechat-push.status.sending') });
      Promise.all([evaluate(RED, node, msg, touser, touserType), evaluate(RED, node, msg, content, contentType)])
        .then(([to, value]) => {
          const req = buildPush(msgtype, to === undefined || to === null ? '' : String(to), value, templateId);
          return req.api === 'template' ? client.sendTemplate(req.body) : client.sendCustom(req.body);
        })
        .then((answer) => {
          sent++;
          msg.payload = answer;
          const msgid = answer.msgid ? ` ${String(answer.msgid)}` : '';
          node.status({ fill: 'green', shape: 'dot', text: RED._('wechat-push.status.sent', { count: sent, msgid }) });
          send(msg);
          done();
        })
        .catch((err: Error & { code?: unknown }) => {
          const text = err instanceof WeChatApiError ? `${err.errcode} ${err.errmsg}` : err.message;
          node.status({ fill: 'red', shape: 'ring', text: client.redact(text).slice(0, 64) });
          err.message = client.redact(err.message);
          done(err);
        });
    });
  }
  RED.nodes.registerType('wechat-push', WeChatPush);
};
