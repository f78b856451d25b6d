import { randomUUID } from 'node:crypto';
import { C4CError } from '../../lib/c4c/errors';
import { MEDIA_TYPES, USER_MESSAGE_TYPES, type Attachment, type MessageResult } from '../../lib/c4c/social';
import { mediaGone } from '../../lib/wechat/media';
import { StoreError } from '../../lib/store/errors';
import type { WorkQueue } from '../../lib/store/types';
import { TtlCache } from '../../lib/util/ttl-cache';
import { configured, numberOr } from '../shared/config';
import { socialFor } from '../shared/social';
import { failureReporter } from '../shared/failure';
import { fit } from '../shared/status';
import type { NodeInstance, NodeMessage, NodeRED } from '../shared/types';
import type { C4CConfigNode } from '../c4c-config/c4c-config';
import type { WeChatConfigNode } from '../wechat-config/wechat-config';

module.exports = function (RED: NodeRED) {
  const reportFailure = failureReporter(RED);
  function C4CSocialMessage(this: NodeInstance, config: Record<string, any>) {
    RED.nodes.createNode(this, config);
    const node = this;
    const system = RED.nodes.getNode(config.system) as C4CConfigNode | null;
    const account = config.account ? (RED.nodes.getNode(config.account) as WeChatConfigNode | null) : null;
    const channel = { channelCode: configured(config.channelCode).value, providerId: configured(config.providerId).value };
    const threadWindowMs = numberOr(config.threadWindow, 24, 0) * 3600 * 1000;
    const attachMedia = !(config.attachMedia === false || config.attachMedia === 'false');
    const maxMediaBytes = Math.floor(numberOr(config.maxMediaBytes, 10 * 1024 * 1024, 1));
    const social = socialFor(system);
    /** A status with values, in the runtime's language; fixed statuses go as keys the editor translates. */
    const t = (key: string, vars: Record<string, unknown>): string => fit(RED._(`c4c-social-message.status.${key}`, vars));

    const problem = !system ? 'no-system' : !social ? 'config' : !channel.channelCode ? 'no-channel' : undefined;
    if (problem === 'config' && system?.missingStatus) node.status({ fill: 'red', shape: 'ring', text: system.missingStatus });
    else node.status(problem ? { fill: 'red', shape: 'ring', text: `c4c-social-message.status.${problem}` } : { fill: 'grey', shape: 'ring', text: 'c4c-social-message.status.ready' });
    if (attachMedia && !problem && !account?.client) node.warn(RED._('c4c-social-message.warn.no-account'));

    /** The failure path: the package's one reportFailure (short status, Catch with a string code). */
    const fail = (err: Error, msg: NodeMessage, done: (err?: Error) => void): void => {
      const client = system?.client;
      reportFailure(node, err, msg, done, { redact: (s) => (client ? client.redact(s) : s) });
    };

    /** The message's media, fetched with the account's token; a note (and a warning) when it cannot be attached. */
    const mediaOf = (payload: Record<string, unknown>): (() => Promise<Attachment | { note: string }>) | undefined => {
      const client = account?.client;
      const mediaId = String(payload.MediaId ?? '');
      if (!attachMedia || !client || !mediaId || !MEDIA_TYPES.has(String(payload.MsgType))) return undefined;
      return () => client.getMedia(mediaId, { maxBytes: maxMediaBytes })
        .catch((err: Error & { code?: unknown }) => {
          const note = mediaGone(err) ? RED._('c4c-social-message.note.gone') : err.code === 'MEDIA_TOO_BIG' ? RED._('c4c-social-message.note.too-big', { max: maxMediaBytes }) : RED._('c4c-social-message.note.failed', { code: String(err.code ?? '?') });
          node.warn(RED._('c4c-social-message.warn.media', { id: String(payload.MsgId ?? ''), note, error: client.redact(err.message) }));
          return { note };
        });
    };

    const handle = (msg: NodeMessage, send: (m: NodeMessage) => void, done: (err?: Error) => void, recovered = false): void => {
      if (!social || problem) {
        fail(new C4CError(problem === 'no-channel' ? RED._('c4c-social-message.errors.no-channel') : system?.problem || RED._('c4c-social-message.status.no-system'), 'C4C_CONFIG'), msg, done);
        return;
      }
      const payload = (msg.payload && typeof msg.payload === 'object' ? msg.payload : {}) as Record<string, unknown>;
      const wechat = (msg.wechat && typeof msg.wechat === 'object' ? msg.wechat : {}) as { openid?: unknown };
      const c4c = (msg.c4c && typeof msg.c4c === 'object' ? msg.c4c : {}) as { customerUUID?: unknown; objectId?: unknown };
      node.status({ fill: 'blue', shape: 'dot', text: 'c4c-social-message.status.working' });
      social.storeMessage({
        message: payload,
        openid: String(wechat.openid ?? payload.FromUserName ?? ''),
        channel,
        threadWindowMs,
        customerUUID: String(c4c.customerUUID ?? c4c.objectId ?? '') || undefined,
        recovered,
        attachment: mediaOf(payload),
      }).then((r: MessageResult) => {
        msg.c4c = { profileId: r.profileId, activityId: r.activityId, activityUUID: r.activityUUID, rootActivityUUID: r.rootActivityUUID, created: r.created, ...(recovered ? { recovered: true } : {}) };
        node.status({ fill: r.note ? 'yellow' : 'green', shape: 'dot', text: t(r.activityUUID === r.rootActivityUUID ? 'new-thread' : 'stored', { id: r.activityId ?? '' }) });
        send(msg);
        done();
      }, (err: Error) => fail(err, msg, done));
    };

    // With a shared store every message goes on a Redis Stream the instances share (as
    // c4c-create-customer's inputs do): work a dead instance took is finished by a living one.
    type Job = { uid: string; msgid?: string; payload: unknown; topic?: unknown; wechat?: unknown; c4c?: unknown };
    const queue: WorkQueue<Job> | undefined = social && system?.store ? system.store.queue<Job>(`c4c-social-message:${node.id}`, { claimAfterMs: numberOr(config.claimAfter, 30, 1) * 1000 }) : undefined;
    const originals = new TtlCache<NodeMessage>(10000);
    queue?.consume((item) => new Promise<void>((resolve) => {
      const job = item.data;
      const msg: NodeMessage = originals.get(job.uid) ?? { _msgid: job.msgid || RED.util.generateId(), payload: job.payload, topic: job.topic, wechat: job.wechat, c4c: job.c4c };
      originals.delete(job.uid);
      handle(msg, (m) => node.send(m), (err) => {
        if (err) node.error(err, msg);
        resolve();
      }, item.recovered);
    }));

    node.on('input', (msg, send, done) => {
      const topic = String((msg.payload as { MsgType?: unknown } | undefined)?.MsgType ?? msg.topic ?? '');
      if (!USER_MESSAGE_TYPES.has(topic)) {
        done(); // events (follow, menu clicks) are not conversation
        return;
      }
      if (!queue) {
        handle(msg, send, done);
        return;
      }
      const uid = randomUUID();
      const { req: _req, res: _res, ...kept } = msg;
      originals.set(uid, kept, 10 * 60 * 1000);
      // one follower's messages one after the other, in the order they came, on whichever instances
      const openid = String((msg.wechat as { openid?: unknown } | undefined)?.openid ?? (msg.payload as { FromUserName?: unknown } | undefined)?.FromUserName ?? '');
      queue.add({ uid, msgid: msg._msgid, payload: msg.payload, topic: msg.topic, wechat: msg.wechat, c4c: msg.c4c }, { orderKey: `${channel.channelCode}:${openid}` }).then(() => done(), (err: Error) => {
        originals.delete(uid);
        fail(new StoreError('STORE_UNAVAILABLE', RED._('c4c-social-message.errors.store', { message: err.message })), msg, done);
      });
    });

    node.on('close', (_removed: boolean, closed: () => void) => {
      originals.clear();
      if (!queue) { closed(); return; }
      queue.close().then(() => closed(), () => closed());
    });
  }
  RED.nodes.registerType('c4c-social-message', C4CSocialMessage);
};
