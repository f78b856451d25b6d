import { SUCCESS_REPLY, type CachedReply } from '../../lib/wechat/dedupe';
import type { ServerResponse } from 'node:http';
import { DeadlineQueue } from '../../lib/util/deadline-queue';
import { RejectionLog } from '../../lib/wechat/account';
import { ARRIVED_AT } from '../../lib/http/body-limit';
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
    // `res` is dropped as soon as the response closes: the queue then holds two short strings
    // instead of the request and response objects (which would otherwise survive two scavenges
    // and be promoted to V8's old space at every tick — most of the soak's extra RSS).
    type Delivery = { res: ServerResponse | undefined; key: string; topic: string };
    const acks = ackTimeoutMs > 0 && accountNode && accountNode.account ? new DeadlineQueue<Delivery>(ackTimeoutMs, 100, {
      isSettled: (d) => !d.res || answered(d.res),
      // Answered by something other than wechat-reply (which settles the delivery itself, so
      // the account no longer has it in flight): retries get `success`.
      onSettled: (d) => {
        if (accountNode.account.delivery(d.key)) void accountNode.account.settle(d.key, null);
      },
      onExpired: (d) => {
        if (d.res) answer(d.res, SUCCESS_REPLY);
        void accountNode.account.settle(d.key, SUCCESS_REPLY);
        if (!closing) node.warn(RED._('wechat-in.warn.ack-timeout', { timeout: ackTimeoutMs, topic: d.topic }));
      },
    }) : undefined;
    const counts = { accepted: 0, rejected: 0, duplicate: 0 };
    let lastRejected = false;
    const rejections = new RejectionLog(10000);

    const status = new ThrottledStatus(node);
    const showCounts = (): void => status.set(() => {
      const text = RED._('wechat-in.status.counts', counts);
      return lastRejected ? { fill: 'yellow', shape: 'ring', text } : { fill: 'green', shape: 'dot', text };
    });

    if (!accountNode || !accountNode.account) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('wechat-in.status.no-account') });
    } else if (accountNode.problems.length) {
      // Short in the status; the whole list in the log.
      node.status({ fill: 'red', shape: 'ring', text: RED._('wechat-in.status.config-error') });
      node.error(RED._('wechat-in.errors.config', { problems: accountNode.problems.join('; ') }));
    } else {
      node.status({ fill: 'grey', shape: 'dot', text: RED._('wechat-in.status.ready') });
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
        node.status({ fill: 'red', shape: 'ring', text: RED._(accountNode ? 'wechat-in.status.config-error' : 'wechat-in.status.no-account') });
        done(new Error(reason));
        return;
      }
      const account = accountNode.account;
      const method = String(req.method || '').toUpperCase();
      const arrived = Number((req as Record<string, unknown>)[ARRIVED_AT]) || undefined;
      account.receive({ method, query: req.query || {}, body: method === 'POST' ? msg.payload : undefined }, { windowMs: dedupeWindowMs, holdMs: ackTimeoutMs + 5000 })
        .then((result) => {
          if (result.kind === 'echo') {
            answer(res, { statusCode: 200, contentType: 'text/plain; charset=utf-8', body: result.echostr });
            status.set(() => ({ fill: 'green', shape: 'dot', text: RED._('wechat-in.status.verified') }));
            done();
            return;
          }
          if (result.kind === 'reject') {
            answer(res, { statusCode: result.status, contentType: 'text/plain; charset=utf-8', body: result.reason });
            counts.rejected++;
            lastRejected = true;
            showCounts();
            // One warning per distinct reason at most every 10 s, with the count since the last one.
            const count = rejections.note(`${result.status} ${result.code}`);
            if (count) node.warn(RED._('wechat-in.warn.rejected', { status: result.status, reason: result.reason, count }));
            done();
            return;
          }
          const key = result.dedupeKey;
          if (!result.claim.first) {
            counts.duplicate++;
            showCounts();
            const reply = (r: CachedReply | null | undefined): void => {
              answer(res, r || SUCCESS_REPLY);
              done();
            };
            account.replyForRetry(key, result.claim, ackTimeoutMs || 4500, stopping.signal).then(reply, () => reply(null));
            return;
          }
          counts.accepted++;
          lastRejected = false;
          showCounts();
          // The deadline counts from the request's arrival: stamped by the body-limit middleware
          // (lib/http/body-limit.ts); without it, from now.
          if (acks) {
            const d: Delivery = { res, key, topic: result.topic };
            if (typeof res.once === 'function') res.once('close', () => { d.res = undefined; });
            acks.push(d, arrived);
          }
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
        })
        .catch((err: Error) => {
          // The delivery store failed (Redis down): answer `success` rather than nothing, and say so.
          answer(res, SUCCESS_REPLY);
          done(err);
        });
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
