import { basicAuthOk } from '../../lib/http/basic-auth';
import { parseAgentReply, type AgentReply } from '../../lib/c4c/social';
import type { KeyValueStore } from '../../lib/store/types';
import { TtlCache } from '../../lib/util/ttl-cache';
import { configured, inboundCredentials, numberOr, SECRET_ENV } from '../shared/config';
import { answer, rawResponse } from '../shared/http';
import { socialFor } from '../shared/social';
import { C4CError } from '../../lib/c4c/errors';
import { failureReporter } from '../shared/failure';
import { fit } from '../shared/status';
import type { NodeInstance, NodeMessage, NodeRED } from '../shared/types';
import type { C4CConfigNode } from '../c4c-config/c4c-config';

module.exports = function (RED: NodeRED) {
  const reportFailure = failureReporter(RED);
  function C4CAgentReply(this: NodeInstance, config: Record<string, any>) {
    RED.nodes.createNode(this, config);
    const node = this;
    const system = RED.nodes.getNode(config.system) as C4CConfigNode | null;
    const channelCode = configured(config.channelCode).value;
    const dedupeMs = numberOr(config.dedupeWindow, 86400, 0) * 1000;
    const creds = this.credentials || {};
    // Empty credentials fall back to the documented variables; both still empty: no check. Given as
    // an unset ${VAR}: every call is refused rather than let through unchecked.
    const { username, password, fromEnv, unset } = inboundCredentials(creds, SECRET_ENV['c4c-agent-reply']);
    if (fromEnv.length) node.log(RED._('c4c-agent-reply.info.from-env', { secrets: fromEnv.join(', ') }));
    const social = socialFor(system);
    /** A status with values, in the runtime's language; fixed statuses go as keys the editor translates. */
    const t = (key: string, vars: Record<string, unknown>): string => fit(RED._(`c4c-agent-reply.status.${key}`, vars));
    const fixed = (key: string): string => `c4c-agent-reply.status.${key}`;
    /** The sma_ids forwarded within the window: the c4c-config's store (Redis: across instances); this memory while it cannot be reached. */
    const marks: KeyValueStore | undefined = system?.store ? system.store.kv(`c4c-agent-reply:${system.tenant}`) : undefined;
    const seen = new TtlCache<true>(100000);

    const problem = !system ? 'no-system' : !social ? 'config' : !channelCode ? 'no-channel' : undefined;
    if (problem === 'config' && system?.missingStatus) node.status({ fill: 'red', shape: 'ring', text: system.missingStatus });
    else node.status(problem ? { fill: 'red', shape: 'ring', text: fixed(problem) } : { fill: 'grey', shape: 'ring', text: fixed('ready') });
    if (unset.length) node.warn(RED._('c4c-agent-reply.warn.env-missing', { name: unset.join(', ') }));
    else if (!username && !password) node.warn(RED._('c4c-agent-reply.warn.no-credentials'));

    /** The failure path: the package's one reportFailure (short status, Catch with a string code). */
    const fail = (err: Error, msg: NodeMessage, done: (err?: Error) => void): void => {
      reportFailure(node, err, msg, done, { redact: system?.redact });
    };

    /** true for the first call with this sma_id within the window (across instances with a shared store). */
    const firstTime = async (id: string): Promise<boolean> => {
      if (!id || dedupeMs <= 0) return true;
      if (marks) {
        try {
          return await marks.add(`sma:${id}`, '1', dedupeMs);
        } catch { /* the store cannot be reached: this instance's memory decides */ }
      }
      if (seen.get(id)) return false;
      seen.set(id, true, dedupeMs);
      return true;
    };
    /** A reply that was not forwarded: C4C's repeat of the call may go through (on any instance). */
    const forget = (id: string): void => {
      seen.delete(id);
      marks?.delete(`sma:${id}`).catch(() => undefined);
    };
    /**
     * The replies sent on (their _msgid → sma_id): when a node after this one fails one (wechat-push
     * could not deliver it: Catch), its sma_id is forgotten too, so that C4C's repeat delivers it.
     */
    const sentOn = new TtlCache<string>(10000);
    // `<hook>.<label>`: Node-RED cuts the name at its dots, and node ids may have them (the bundled
    // flow's `wc.reply`): the id in hex, so that no two nodes share a label
    const hook = `onComplete.c4c-agent-reply-${Buffer.from(node.id).toString('hex')}`;
    RED.hooks?.add(hook, (event) => {
      const sma = event.error && event.node?.id !== node.id && event.msg?._msgid ? sentOn.get(String(event.msg._msgid)) : undefined;
      if (sma === undefined) return;
      sentOn.delete(String(event.msg!._msgid));
      forget(sma);
    });
    node.on('close', () => RED.hooks?.remove(hook));

    node.on('input', (msg: NodeMessage, send, done) => {
      const res = rawResponse(msg);
      const reply = (status: number, body: string, headers: Record<string, string> = {}): void => {
        if (!res) return;
        for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
        answer(res, { statusCode: status, contentType: 'application/json; charset=utf-8', body });
      };
      const headers = (msg.req?.headers ?? {}) as Record<string, unknown>;
      if (unset.length || !basicAuthOk(headers.authorization, username, password)) {
        // nothing of the body is read
        reply(401, '{"error":"unauthorized"}', { 'WWW-Authenticate': 'Basic realm="c4c-agent-reply"' });
        node.status({ fill: 'red', shape: 'ring', text: fixed('unauthorized') });
        done();
        return;
      }
      const parsed = parseAgentReply(msg.req?.body ?? msg.payload, String(headers['content-type'] ?? ''));
      if ('reason' in parsed) {
        reply(400, JSON.stringify({ error: parsed.reason }));
        node.status({ fill: 'red', shape: 'ring', text: fixed('bad-body') });
        node.warn(RED._('c4c-agent-reply.warn.bad-body', { reason: parsed.reason }));
        done();
        return;
      }
      // C4C waits for the answer: it goes now, the work continues after it.
      reply(200, '{"success":"ok"}');
      const out: NodeMessage = { _msgid: msg._msgid };
      if (parsed.private) {
        node.status({ fill: 'grey', shape: 'dot', text: fixed('private') });
        done();
        return;
      }
      if (!social || problem) {
        fail(new C4CError(problem === 'no-channel' ? RED._('c4c-agent-reply.errors.no-channel') : system?.problem || RED._('c4c-agent-reply.status.no-system'), 'C4C_CONFIG'), msg, done);
        return;
      }
      firstTime(parsed.activityId).then(async (first) => {
        if (!first) {
          node.status({ fill: 'grey', shape: 'dot', text: t('repeated', { id: parsed.activityId }) });
          done();
          return;
        }
        node.status({ fill: 'blue', shape: 'dot', text: fixed('working') });
        const openid = await social.followerOf(parsed, channelCode);
        Object.assign(out, toMsg(parsed, openid));
        node.status({ fill: 'green', shape: 'dot', text: t('forwarded', { id: parsed.ticketId || parsed.activityId }) });
        if (parsed.activityId) sentOn.set(String(out._msgid), parsed.activityId, 10 * 60 * 1000);
        send(out);
        done();
      }).catch((err: Error) => {
        forget(parsed.activityId);
        Object.assign(out, toMsg(parsed, undefined));
        Object.assign(msg, out);
        fail(err, msg, done);
      });
    });

    function toMsg(r: AgentReply, openid: string | undefined): NodeMessage {
      return {
        payload: r.text,
        topic: 'c4c.reply',
        wechat: { openid },
        c4c: { ticketId: r.ticketId, activityId: r.activityId, originalId: r.originalId, author: r.authorName },
      };
    }
  }
  RED.nodes.registerType('c4c-agent-reply', C4CAgentReply, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
    },
  });
};
