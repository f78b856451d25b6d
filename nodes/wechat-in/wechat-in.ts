import { SUCCESS_REPLY, type CachedReply } from '../../lib/wechat/dedupe';
import type { ServerResponse } from 'node:http';
import { DeadlineQueue } from '../../lib/util/deadline-queue';
import { handleInbound } from '../../lib/wechat/inbound';
import { numberOr } from '../shared/config';
import { answer, answered, rawResponse } from '../shared/http';
import { ThrottledStatus } from '../shared/status';
import type { NodeInstance, NodeRED } from '../shared/types';
import type { WeChatConfigNode } from '../wechat-config/wechat-config';

module.exports = function (RED: NodeRED) {
  function WeChatIn(this: NodeInstance, config: Record<string, any>) {
    RED.nodes.createNode(this, config);
    const node = this;
    const accountNode = RED.nodes.getNode(config.account) as WeChatConfigNode | null;
    const dedupeWindowMs = numberOr(config.dedupeWindow, 60) * 1000;
    const ackTimeoutMs = numberOr(config.ackTimeout, 4500);
    // Aborted on close: retries waiting for a first reply are answered `success` at once.
    const stopping = new AbortController();
    // Requests still waiting for an answer sit in a deadline queue (one timer for all of them).
    // ackTimeout 0 turns the safety net off: nothing is tracked.
    let closing = false;
    type Delivery = { res: ServerResponse; key: string; topic: string };
    const acks = ackTimeoutMs > 0 && accountNode && accountNode.account ? new DeadlineQueue<Delivery>(ackTimeoutMs, 100, {
      isSettled: (d) => answered(d.res),
      // Answered by something other than wechat-reply: retries get `success`.
      onSettled: (d) => accountNode.account.dedupe.complete(d.key, null),
      onExpired: (d) => {
        answer(d.res, SUCCESS_REPLY);
        accountNode.account.dedupe.complete(d.key, SUCCESS_REPLY);
        if (!closing) node.warn(RED._('wechat-in.warn.ack-timeout', { timeout: ackTimeoutMs, topic: d.topic }));
      },
    }) : undefined;
    const counts = { accepted: 0, rejected: 0, duplicate: 0 };
    let lastRejection = '';

    const status = new ThrottledStatus(node);
    const showCounts = (): void => status.set(() => {
      const text = RED._('wechat-in.status.counts', counts);
      return lastRejection ? { fill: 'yellow', shape: 'ring', text: `${text} · ${lastRejection}` } : { fill: 'green', shape: 'dot', text };
    });

    if (!accountNode || !accountNode.account) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('wechat-in.status.no-account') });
    } else if (accountNode.problems.length) {
      node.status({ fill: 'red', shape: 'ring', text: accountNode.problems.join('; ') });
    } else {
      node.status({});
    }

    node.on('input', (msg, send, done) => {
      const res = rawResponse(msg);
      const req = msg.req;
      if (!res || !req) {
        done(new Error(RED._('wechat-in.errors.no-http')));
        return;
      }
      if (!accountNode || !accountNode.account || accountNode.problems.length) {
        const reason = accountNode && accountNode.problems.length ? accountNode.problems.join('; ') : RED._('wechat-in.status.no-account');
        answer(res, { statusCode: 500, contentType: 'text/plain; charset=utf-8', body: 'wechat-in: account not configured' });
        node.status({ fill: 'red', shape: 'ring', text: reason });
        done(new Error(reason));
        return;
      }
      const account = accountNode.account;
      const method = String(req.method || '').toUpperCase();
      const result = handleInbound({ method, query: req.query || {}, body: method === 'POST' ? msg.payload : undefined }, account.inbound);

      if (result.kind === 'echo') {
        answer(res, { statusCode: 200, contentType: 'text/plain; charset=utf-8', body: result.echostr });
        status.set(() => ({ fill: 'green', shape: 'dot', text: RED._('wechat-in.status.verified') }));
        done();
        return;
      }
      if (result.kind === 'reject') {
        answer(res, { statusCode: result.status, contentType: 'text/plain; charset=utf-8', body: result.reason });
        counts.rejected++;
        lastRejection = `${result.status} ${result.reason}`.slice(0, 60);
        showCounts();
        node.warn(RED._('wechat-in.warn.rejected', { status: result.status, reason: result.reason }));
        done();
        return;
      }

      const key = result.dedupeKey;
      const holdMs = ackTimeoutMs + 5000;
      const seen = account.dedupe.begin(key, {
        keyIndex: result.keyIndex,
        accountId: String(result.message.ToUserName ?? ''),
        follower: result.openid,
        msgType: String(result.message.MsgType),
      }, dedupeWindowMs, holdMs);
      if (seen) {
        counts.duplicate++;
        showCounts();
        const reply = (r: CachedReply | null | undefined): void => {
          answer(res, r || SUCCESS_REPLY);
          done();
        };
        if (seen.reply !== undefined) reply(seen.reply);
        else account.dedupe.waitFor(key, ackTimeoutMs, stopping.signal).then(reply, () => reply(null));
        return;
      }

      counts.accepted++;
      lastRejection = '';
      showCounts();

      acks?.push({ res, key, topic: result.topic });

      msg.payload = result.message;
      msg.topic = result.topic;
      msg.wechat = {
        openid: result.openid,
        appId: account.inbound.appId,
        encrypted: result.encrypted,
        timestamp: result.timestamp,
        nonce: result.nonce,
        key,
      };
      send(msg);
      done();
    });

    node.on('close', (_removed, done) => {
      status.close();
      stopping.abort();
      // Requests still in the flow get `success` now rather than a WeChat retry into a redeploy.
      closing = true;
      acks?.flush();
      done();
    });
  }
  RED.nodes.registerType('wechat-in', WeChatIn);
};
