import { C4CError } from '../../lib/c4c/errors';
import { MEDIA_TYPES, USER_MESSAGE_TYPES, type Attachment, type MessageResult } from '../../lib/c4c/social';
import { mediaGone } from '../../lib/wechat/media';
import { queuedWork, type Job } from '../shared/work';
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
      reportFailure(node, err, msg, done, { redact: system?.redact });
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

    /** The follower: msg.wechat.openid, else the message's FromUserName. */
    const openidOf = (msg: NodeMessage): string => String((msg.wechat as { openid?: unknown } | undefined)?.openid ?? (msg.payload as { FromUserName?: unknown } | undefined)?.FromUserName ?? '');

    const handle = (msg: NodeMessage, send: (m: NodeMessage) => void, done: (err?: Error) => void, recovered = false): void => {
      if (!social || problem) {
        fail(new C4CError(problem === 'no-channel' ? RED._('c4c-social-message.errors.no-channel') : system?.problem || RED._('c4c-social-message.status.no-system'), 'C4C_CONFIG'), msg, done);
        return;
      }
      const payload = (msg.payload && typeof msg.payload === 'object' ? msg.payload : {}) as Record<string, unknown>;
      const c4c = (msg.c4c && typeof msg.c4c === 'object' ? msg.c4c : {}) as { customerUUID?: unknown; objectId?: unknown };
      node.status({ fill: 'blue', shape: 'dot', text: 'c4c-social-message.status.working' });
      social.storeMessage({
        message: payload,
        openid: openidOf(msg),
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

    // Every message goes on the c4c-config's work queue, as c4c-create-customer's inputs do
    // (nodes/shared/work.ts): with Redis, work a dead instance took is finished by a living one.
    // One follower's messages one after the other, in the order they came, on whichever instances.
    const work = social && system?.store ? queuedWork(RED, node, {
      type: 'c4c-social-message',
      queue: system.store.queue<Job>(`c4c-social-message:${node.id}`, { claimAfterMs: numberOr(config.claimAfter, 30, 1) * 1000 }),
      shared: system.store.kind === 'redis',
      reportFailure,
      job: (msg) => ({ payload: msg.payload, topic: msg.topic, wechat: msg.wechat, c4c: msg.c4c }),
      orderKey: (msg) => `${channel.channelCode}:${openidOf(msg)}`,
      handle,
    }) : undefined;

    node.on('input', (msg, send, done) => {
      const topic = String((msg.payload as { MsgType?: unknown } | undefined)?.MsgType ?? msg.topic ?? '');
      if (!USER_MESSAGE_TYPES.has(topic)) {
        done(); // events (follow, menu clicks) are not conversation
        return;
      }
      if (!work) {
        handle(msg, send, done);
        return;
      }
      work.input(msg, send, done);
    });

    node.on('close', (_removed: boolean, closed: () => void) => {
      Promise.resolve(work?.close()).then(() => closed(), () => closed());
    });
  }
  RED.nodes.registerType('c4c-social-message', C4CSocialMessage);
};
