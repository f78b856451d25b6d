import { SUCCESS_REPLY, type CachedReply } from '../../lib/wechat/dedupe';
import { buildReplyXml, encryptReply, normaliseFields, REPLY_TYPES, type ReplyType } from '../../lib/wechat/reply';
import { evaluate } from '../shared/evaluate';
import { answered, rawResponse } from '../shared/http';
import { ThrottledStatus } from '../shared/status';
import type { NodeInstance, NodeMessage, NodeRED } from '../shared/types';
import type { WeChatConfigNode } from '../wechat-config/wechat-config';

const XML_TYPE = 'application/xml; charset=utf-8';

function isIncoming(payload: unknown): payload is Record<string, string> {
  return !!payload && typeof payload === 'object' && !Array.isArray(payload) && !Buffer.isBuffer(payload) &&
    typeof (payload as Record<string, unknown>).MsgType === 'string' && typeof (payload as Record<string, unknown>).FromUserName === 'string';
}

module.exports = function (RED: NodeRED) {
  function WeChatReply(this: NodeInstance, config: Record<string, any>) {
    RED.nodes.createNode(this, config);
    const node = this;
    const accountNode = RED.nodes.getNode(config.account) as WeChatConfigNode | null;
    const replyType: ReplyType = (REPLY_TYPES as readonly string[]).includes(config.replyType) ? config.replyType : 'text';
    const content = config.content === undefined ? '' : config.content;
    const contentType = config.contentType || 'str';
    const hasContent = !(contentType === 'str' && content === '') && contentType !== 'none';
    let replies = 0;
    const status = new ThrottledStatus(node);
    node.on('close', (_removed, done) => {
      status.close();
      done();
    });

    if (!accountNode || !accountNode.account) node.status({ fill: 'red', shape: 'ring', text: RED._('wechat-reply.status.no-account') });
    else node.status({ fill: 'grey', shape: 'dot', text: RED._('wechat-reply.status.ready') });

    const replyInput = (msg: NodeMessage): Promise<unknown> => (hasContent ? evaluate(RED, node, msg, content, contentType) : Promise.resolve(msg.payload));

    node.on('input', (msg, send, done) => {
      const wechat = msg.wechat;
      if (!wechat || typeof wechat !== 'object' || typeof wechat.key !== 'string' || !wechat.key) {
        node.status({ fill: 'red', shape: 'ring', text: RED._('wechat-reply.status.no-wechat') });
        done(new Error(RED._('wechat-reply.errors.no-wechat')));
        return;
      }
      if (!accountNode || !accountNode.account) {
        node.status({ fill: 'red', shape: 'ring', text: RED._('wechat-reply.status.no-account') });
        done(new Error(RED._('wechat-reply.status.no-account')));
        return;
      }
      const account = accountNode.account;
      const key: string = wechat.key;
      // The incoming message, if the payload still is it (no content configured and nothing changed it).
      const incoming = isIncoming(msg.payload) ? msg.payload : undefined;
      replyInput(msg).then((value) => {
        const input = value === incoming ? undefined : value;
        let reply: CachedReply;
        if (replyType === 'success' || (replyType !== 'transfer_customer_service' && (input === undefined || input === null || input === ''))) {
          reply = SUCCESS_REPLY;
        } else {
          const entry = account.dedupe.get(key);
          const follower = entry?.follower || String(wechat.openid ?? incoming?.FromUserName ?? '');
          const accountId = entry?.accountId || String(incoming?.ToUserName ?? '');
          if (!follower || !accountId) throw new Error(RED._('wechat-reply.errors.unknown-request'));
          const msgType = entry?.msgType ?? String(incoming?.MsgType ?? 'event');
          const built = buildReplyXml(replyType, normaliseFields(replyType, input), {
            toUser: follower,
            fromUser: accountId,
            createTime: Math.floor(Date.now() / 1000),
            maxArticles: msgType === 'event' ? 8 : 1,
          });
          if (built.droppedArticles) node.warn(RED._('wechat-reply.warn.articles', { dropped: built.droppedArticles }));
          let body = built.xml;
          if (wechat.encrypted) {
            const aesKey = account.keyFor(entry && entry.keyIndex >= 0 ? entry.keyIndex : 0);
            if (!aesKey) throw new Error(RED._('wechat-reply.errors.no-aes-key'));
            body = encryptReply(body, { key: aesKey, appId: account.inbound.appId, token: account.inbound.token });
          }
          reply = { statusCode: 200, contentType: XML_TYPE, body };
        }
        account.dedupe.complete(key, reply);
        const res = rawResponse(msg);
        if (res && answered(res)) {
          status.set(() => ({ fill: 'yellow', shape: 'ring', text: RED._('wechat-reply.status.late') }));
          node.warn(RED._('wechat-reply.warn.late'));
          done();
          return;
        }
        msg.payload = reply.body;
        msg.headers = { ...(msg.headers && typeof msg.headers === 'object' ? msg.headers : {}), 'content-type': reply.contentType };
        msg.statusCode = reply.statusCode;
        replies++;
        status.set(() => ({ fill: 'green', shape: 'dot', text: RED._('wechat-reply.status.sent', { count: replies }) }));
        send(msg);
        done();
      }).catch((err: Error) => {
        status.set(() => ({ fill: 'red', shape: 'ring', text: RED._('wechat-reply.status.failed') }));
        done(err);
      });
    });
  }
  RED.nodes.registerType('wechat-reply', WeChatReply);
};
