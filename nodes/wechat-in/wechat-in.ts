import { setMaxListeners } from 'node:events';
import { SUCCESS_REPLY } from '../../lib/wechat/delivery';
import type { ServerResponse } from 'node:http';
import { RejectionLog } from '../../lib/wechat/account';
import { ARRIVED_AT, BODY_LIMITED, onBodyLimitRejection } from '../../lib/http/body-limit';
import { WeChatC4CError } from '../../lib/errors';
import { numberOr } from '../shared/config';
import { failureReporter } from '../shared/failure';
import { answer, answered, rawResponse } from '../shared/http';
import { registerHealth } from '../shared/health';
import { ThrottledStatus } from '../shared/status';
import type { NodeInstance, NodeRED } from '../shared/types';
import type { WeChatConfigNode } from '../wechat-config/wechat-config';

module.exports = function (RED: NodeRED) {
  const reportFailure = failureReporter(RED);
  function WeChatIn(this: NodeInstance, config: Record<string, any>) {
    RED.nodes.createNode(this, config);
    const node = this;
    const accountNode = RED.nodes.getNode(config.account) as WeChatConfigNode | null;
    const dedupeWindowMs = numberOr(config.dedupeWindow, 60) * 1000;
    const ackTimeoutMs = numberOr(config.ackTimeout, 4500);
    /**
     * How long a delivery's retry key lives: as long as its timestamp is accepted (the account's
     * replay window), and at least WeChat's retries and the ack deadline with a margin.
     */
    const claimTtlMs = accountNode?.account ? accountNode.account.claimTtlMs(dedupeWindowMs, ackTimeoutMs + 5000) : Math.max(dedupeWindowMs, ackTimeoutMs + 5000);
    // Aborted on close: retries waiting for a first reply are answered `success` at once.
    const stopping = new AbortController();
    setMaxListeners(0, stopping.signal); // every retry waiting for its first delivery listens
    // Requests still waiting for an answer sit in the account's ack deadline (one timer for all of them).
    // ackTimeout 0 turns the safety net off: nothing is tracked.
    let closing = false;
    // `res` is dropped as soon as the response closes: the queue then holds two short strings
    // instead of the request and response objects (which would otherwise survive two scavenges
    // and be promoted to V8's old space at every tick — most of the soak's extra RSS).
    type Delivery = { res: ServerResponse | undefined; key: string; topic: string };
    const acks = ackTimeoutMs > 0 && accountNode && accountNode.account ? accountNode.account.ackDeadline<Delivery>(ackTimeoutMs, {
      answered: (d) => !d.res || answered(d.res),
      answer: (d, reply) => { if (d.res) answer(d.res, reply); },
      onExpired: (d) => { if (!closing) node.warn(RED._('wechat-in.warn.ack-timeout', { timeout: ackTimeoutMs, topic: d.topic })); },
    }) : undefined;
    const counts = { accepted: 0, rejected: 0, duplicate: 0 };
    let lastRejected = false;
    const rejections = new RejectionLog(10000);
    const noteRejection = (status: number, code: string, reason: string): void => {
      counts.rejected++;
      lastRejected = true;
      showCounts();
      // One warning per distinct reason at most every 10 s, with the count since the last one.
      const count = rejections.note(`${status} ${code}`);
      if (count) node.warn(RED._('wechat-in.warn.rejected', { status, reason, count }));
    };
    // Uploads the body-limit middleware refused or lost before the flow saw them (too large, a
    // query that cannot be WeChat's, aborted): counted here, never a stack in the log.
    const offBodyLimit = onBodyLimitRejection((r) => noteRejection(r.status, r.code, r.reason));
    let warnedUnlimited = false;
    // Node-RED reads a "Do not parse body" http in node's whole body before any middleware runs.
    const unparsed: string[] = [];
    (RED.nodes as unknown as { eachNode?: (fn: (n: Record<string, any>) => void) => void }).eachNode?.((n) => {
      if (n.type === 'http in' && n.skipBodyParsing && Array.isArray(n.wires) && n.wires.some((w: unknown) => Array.isArray(w) && w.includes(node.id))) unparsed.push(String(n.url || n.id));
    });
    if (unparsed.length) node.warn(RED._('wechat-in.warn.skip-body-parsing', { urls: unparsed.join(', ') }));

    const status = new ThrottledStatus(node);
    const showCounts = (): void => status.set(() => {
      if (accountNode?.account && !accountNode.account.storeHealthy) return { fill: 'red', shape: 'ring', text: 'wechat-in.status.store-down' };
      const text = RED._('wechat-in.status.counts', counts);
      return lastRejected ? { fill: 'yellow', shape: 'ring', text } : { fill: 'green', shape: 'dot', text };
    });

    // The shared store (Redis) went down or came back: said once per change, in the log and the status.
    const onStore = (state: string, err?: Error): void => {
      if (state === 'down') {
        node.warn(RED._('wechat-in.warn.store-down', { message: err?.message ?? '' }));
        // through the throttle, so that a status waiting in it cannot replace this one
        status.set(() => ({ fill: 'red', shape: 'ring', text: 'wechat-in.status.store-down' }));
      } else {
        node.log(RED._('wechat-in.warn.store-up'));
        status.set(() => ({ fill: 'green', shape: 'dot', text: 'wechat-in.status.store-up' }));
      }
    };
    if (accountNode?.account) accountNode.account.on('store', onStore);
    if (!accountNode || !accountNode.account) {
      node.status({ fill: 'red', shape: 'ring', text: 'wechat-in.status.no-account' });
    } else if (accountNode.problems.length) {
      // Short in the status (what is missing, when a variable is); the whole list in the log.
      node.status({ fill: 'red', shape: 'ring', text: accountNode.missingStatus ?? 'wechat-in.status.config-error' });
      node.error(RED._('wechat-in.errors.config', { problems: accountNode.problems.join('; ') }));
    } else if (!accountNode.account.storeHealthy) {
      node.status({ fill: 'red', shape: 'ring', text: 'wechat-in.status.store-down' });
    } else {
      node.status({ fill: 'grey', shape: 'dot', text: 'wechat-in.status.ready' });
    }

    node.on('input', (msg, send, done) => {
      const res = rawResponse(msg);
      const req = msg.req;
      if (!res || !req) {
        reportFailure(node, new WeChatC4CError('NO_HTTP', RED._('wechat-in.errors.no-http')), msg, done, { show: (s) => status.set(() => s) });
        return;
      }
      if (!accountNode || !accountNode.account || accountNode.problems.length) {
        const reason = accountNode && accountNode.problems.length ? accountNode.problems.join('; ') : RED._('wechat-in.status.no-account');
        answer(res, { statusCode: 500, contentType: 'text/plain; charset=utf-8', body: 'wechat-in: account not configured' });
        reportFailure(node, new WeChatC4CError('WECHAT_CONFIG', reason), msg, done);
        return;
      }
      const account = accountNode.account;
      const method = String(req.method || '').toUpperCase();
      const arrived = Number((req as Record<string, unknown>)[ARRIVED_AT]) || undefined;
      if (method === 'POST' && !warnedUnlimited && !(req as Record<string, unknown>)[BODY_LIMITED]) {
        warnedUnlimited = true;
        node.warn(RED._('wechat-in.warn.no-body-limit', { path: String((req as Record<string, unknown>).path ?? '') }));
      }
      account.receive({ method, query: req.query || {}, body: method === 'POST' ? msg.payload : undefined }, { windowMs: dedupeWindowMs, holdMs: claimTtlMs })
        .then((result) => {
          if (result.kind === 'echo') {
            answer(res, { statusCode: 200, contentType: 'text/plain; charset=utf-8', body: result.echostr });
            status.set(() => ({ fill: 'green', shape: 'dot', text: 'wechat-in.status.verified' }));
            done();
            return;
          }
          if (result.kind === 'reject') {
            answer(res, { statusCode: result.status, contentType: 'text/plain; charset=utf-8', body: result.reason });
            noteRejection(result.status, result.code, result.reason);
            done();
            return;
          }
          const key = result.dedupeKey;
          /** A delivery this instance runs the flow for: the first one, or a retry whose first delivery's instance died. */
          const runFirst = (takenOver: boolean): void => {
            counts.accepted++;
            lastRejected = false;
            showCounts();
            if (takenOver) node.warn(RED._('wechat-in.warn.taken-over', { topic: result.topic }));
            // The deadline counts from the request's arrival: stamped by the body-limit middleware
            // (lib/http/body-limit.ts); without it, from now.
            if (acks) {
              const d: Delivery = { res, key, topic: result.topic };
              if (typeof res.once === 'function') res.once('close', () => { d.res = undefined; });
              acks.track(d, arrived);
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
          };
          if (result.claim.first) {
            runFirst('takenOver' in result.claim && !!result.claim.takenOver);
            return;
          }
          counts.duplicate++;
          showCounts();
          account.awaitFirst(result, ackTimeoutMs || 4500, claimTtlMs, stopping.signal).then((w) => {
            if ('takenOver' in w) {
              counts.duplicate--;
              runFirst(true);
              return;
            }
            answer(res, w.reply || SUCCESS_REPLY);
            done();
          }, () => {
            answer(res, SUCCESS_REPLY);
            done();
          });
        })
        .catch((err: Error) => {
          // The delivery store failed (Redis down): answer `success` rather than nothing, and say so.
          answer(res, SUCCESS_REPLY);
          // with the store down, its status (Redis down: local dedupe) says more than the code
          reportFailure(node, err, msg, done, { show: (s) => (account.storeHealthy ? status.set(() => s) : showCounts()) });
        });
    });

    node.on('close', (_removed, done) => {
      offBodyLimit();
      accountNode?.account?.off('store', onStore);
      status.close();
      stopping.abort();
      // Requests still in the flow get `success` now rather than a WeChat retry into a redeploy.
      closing = true;
      acks?.flush();
      done();
    });
  }
  registerHealth(RED); // GET /wechat-c4c/health: the liveness probe (docs/security.md)
  RED.nodes.registerType('wechat-in', WeChatIn);
};
