import { SUCCESS_REPLY } from '../../lib/wechat/delivery';
import type { SealedReply } from '../../lib/store/types';
import { ReplyError, REPLY_TYPES, type ReplyType } from '../../lib/wechat/reply';
import { WeChatC4CError } from '../../lib/errors';
import { evaluate } from '../shared/evaluate';
import { failureReporter } from '../shared/failure';
import { answered, rawResponse } from '../shared/http';
import { ThrottledStatus } from '../shared/status';
import type { NodeInstance, NodeMessage, NodeRED } from '../shared/types';
import type { WeChatConfigNode } from '../wechat-config/wechat-config';


function isIncoming(payload: unknown): payload is Record<string, string> {
  return !!payload && typeof payload === 'object' && !Array.isArray(payload) && !Buffer.isBuffer(payload) &&
    typeof (payload as Record<string, unknown>).MsgType === 'string' && typeof (payload as Record<string, unknown>).FromUserName === 'string';
}

module.exports = function (RED: NodeRED) {
  const reportFailure = failureReporter(RED);
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

    if (!accountNode || !accountNode.account) node.status({ fill: 'red', shape: 'ring', text: 'wechat-reply.status.no-account' });
    else node.status({ fill: 'grey', shape: 'dot', text: 'wechat-reply.status.ready' });

    const replyInput = (msg: NodeMessage): Promise<unknown> => (hasContent ? evaluate(RED, node, msg, content, contentType) : Promise.resolve(msg.payload));

    node.on('input', (msg, send, done) => {
      const wechat = msg.wechat;
      if (!wechat || typeof wechat !== 'object' || typeof wechat.key !== 'string' || !wechat.key) {
        reportFailure(node, new ReplyError(RED._('wechat-reply.errors.no-wechat'), 'NO_WECHAT'), msg, done);
        return;
      }
      if (!accountNode || !accountNode.account) {
        reportFailure(node, new WeChatC4CError('WECHAT_CONFIG', RED._('wechat-reply.status.no-account')), msg, done);
        return;
      }
      const account = accountNode.account;
      const key: string = wechat.key;
      // The incoming message, if the payload still is it (no content configured and nothing changed it).
      const incoming = isIncoming(msg.payload) ? msg.payload : undefined;
      replyInput(msg).then((value) => {
        const input = value === incoming ? undefined : value;
        let reply: SealedReply;
        if (replyType === 'success' || (replyType !== 'transfer_customer_service' && (input === undefined || input === null || input === ''))) {
          reply = SUCCESS_REPLY;
        } else {
          const sealed = account.sealReply(key, replyType, input, {
            encrypted: !!wechat.encrypted,
            fallback: { follower: String(wechat.openid ?? incoming?.FromUserName ?? ''), accountId: String(incoming?.ToUserName ?? ''), msgType: incoming?.MsgType },
          });
          if (sealed.droppedArticles) node.warn(RED._('wechat-reply.warn.articles', { dropped: sealed.droppedArticles }));
          reply = sealed.reply;
        }
        void account.settle(key, reply);
        const res = rawResponse(msg);
        if (res && answered(res)) {
          status.set(() => ({ fill: 'yellow', shape: 'ring', text: 'wechat-reply.status.late' }));
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
      }).catch((err: unknown) => {
        reportFailure(node, err, msg, done, { show: (s) => status.set(() => s) });
      });
    });
  }
  RED.nodes.registerType('wechat-reply', WeChatReply);
};
