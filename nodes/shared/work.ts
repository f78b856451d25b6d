import { randomUUID } from 'node:crypto';
import { StoreError } from '../../lib/store/errors';
import type { WorkQueue } from '../../lib/store/types';
import { TtlCache } from '../../lib/util/ttl-cache';
import type { ReportFailure } from './failure';
import type { NodeInstance, NodeMessage, NodeRED } from './types';

/** What goes on the queue for one input: the msg's properties the work needs (JSON). */
export type Job = { uid: string; msgid?: string } & Record<string, unknown>;

type Done = (err?: Error) => void;

export interface QueuedWorkOptions {
  /** the node type: its catalog has `status.queued`, `status.done-elsewhere` and `errors.store` */
  type: string;
  queue: WorkQueue<Job>;
  /** the queue is shared by instances (Redis): work queued here may run elsewhere */
  shared: boolean;
  reportFailure: ReportFailure;
  /** the msg's properties the work needs, as they go on the queue */
  job(msg: NodeMessage): Record<string, unknown>;
  /** items with one order key run one after the other, in input order, on any instance */
  orderKey?(msg: NodeMessage): string | undefined;
  /** one input's work: settles `done` (output through `send`, failures through the node's reportFailure) */
  handle(msg: NodeMessage, send: (m: NodeMessage) => void, done: Done, recovered: boolean): void;
}

/**
 * The inputs of a node whose work goes through its config node's work queue (c4c-create-customer,
 * c4c-social-message). Memory: the work runs in this process (after the earlier items with its
 * order key) and the input settles when it is done. Redis: a Stream all instances running the flow
 * share; each takes work from it, and work an instance took but never finished (it died) is
 * claimed by a living one after `claimAfter`.
 * Work this instance queued keeps its msg (every property), send and done; once the input is done
 * while its work waits (it may run on another instance), the status says "queued", its
 * msg.req/msg.res go (the HTTP exchange is over), and when every piece of it is done — on
 * whichever instance — the status says so. Another instance's work is sent with the properties
 * the queue carries; its failures go to Catch with that msg.
 */
export function queuedWork(RED: NodeRED, node: NodeInstance, opts: QueuedWorkOptions): { input(msg: NodeMessage, send: (m: NodeMessage) => void, done: Done): void; close(): Promise<void> } {
  type Original = { msg: NodeMessage; send: (m: NodeMessage) => void; done: Done | undefined };
  const { queue, type } = opts;
  // Work another instance takes leaves its entry here: entries go after ORIGINALS_MS, and past 10,000 the oldest.
  const ORIGINALS_MS = 10 * 60 * 1000;
  const originals = new TtlCache<Original>(10000);
  /** Work this instance only queued (its status says "queued"). */
  const waiting = new Set<string>();
  const doneEarly = new TtlCache<true>(1000); // done reported before add() had answered here
  const offDone = queue.onDone((id) => {
    if (!waiting.delete(id)) {
      doneEarly.set(id, true, 60000);
      return;
    }
    if (waiting.size === 0) node.status({ fill: 'green', shape: 'ring', text: `${type}.status.done-elsewhere` });
  });
  queue.consume((item) => new Promise<void>((resolve) => {
    waiting.delete(item.id); // taken here: this instance's own statuses follow
    const job = item.data;
    const original = originals.get(job.uid);
    originals.delete(job.uid);
    // another instance's input (or a dead one's): the properties the queue carries
    const { uid: _uid, msgid, ...carried } = job;
    const msg: NodeMessage = original?.msg ?? { _msgid: msgid || RED.util.generateId(), ...carried };
    const settle = original?.done;
    opts.handle(msg, original?.send ?? ((m) => node.send(m)), (err) => {
      if (settle) settle(err);
      else if (err) node.error(err, msg); // to Catch, with the msg
      resolve();
    }, item.recovered);
  }));

  return {
    input(msg, send, done) {
      const uid = randomUUID();
      const original: Original = { msg, send, done };
      originals.set(uid, original, ORIGINALS_MS);
      queue.add({ uid, msgid: msg._msgid, ...opts.job(msg) }, { orderKey: opts.orderKey?.(msg) }).then((id) => {
        if (!opts.shared) return; // it runs in this process (perhaps after the follower's earlier messages): the work settles the input
        // not taken here yet: the work may run on another instance, this one says only that it is
        // queued (and its input is done; the output and errors come from whichever instance runs it)
        if (originals.get(uid) !== undefined && !doneEarly.get(id)) {
          waiting.add(id);
          const { req: _req, res: _res, ...kept } = msg;
          original.msg = kept;
          original.done = undefined;
          node.status({ fill: 'blue', shape: 'ring', text: `${type}.status.queued` });
          done();
        } else if (originals.get(uid) !== undefined) {
          // done elsewhere before add() answered here: the input is settled, nothing stays queued
          originals.delete(uid);
          done();
        }
      }, (err: Error) => {
        originals.delete(uid);
        opts.reportFailure(node, new StoreError('STORE_UNAVAILABLE', RED._(`${type}.errors.store`, { message: err.message })), msg, done);
      });
    },
    async close() {
      offDone();
      waiting.clear();
      originals.clear();
      await queue.close();
    },
  };
}
