/**
 * The one way a node reports a failure (docs/nodes.md, "Failures and Catch nodes"):
 * - a short red status (≤ 32 characters): the code and the short hint, `C4C 401: user or password wrong`;
 * - `done(err)`, so that Catch nodes get the msg with `msg.error.code` a string (`"45015"`,
 *   `"C4C_401"`, `"ECONNREFUSED"`) and `msg.error.message` the long text, the hint at its end;
 *   Node-RED logs that text as well.
 * The hints are the one table in the wechat-config catalogs (lib/hints.ts), in the runtime's language.
 */
import { codeOf, WeChatC4CError } from '../../lib/errors';
import { HINT_CATALOG, hintKeyOf, hintVarsOf, shortCode, showsCode } from '../../lib/hints';
import { fit } from './status';
import type { NodeInstance, NodeMessage, NodeStatus } from './types';

type Translate = (key: string, subs?: Record<string, unknown>) => string;

/** A text of the package's catalogs from any node (its namespace first, then as the runtime finds it). */
function shared(RED: { _: Translate }, path: string, subs?: Record<string, unknown>): string | undefined {
  for (const k of [`node-red-contrib-wechat-c4c/${HINT_CATALOG}:${path}`, path]) {
    const t = RED._(k, subs);
    if (t && t !== k && !t.endsWith(path)) return t;
  }
  return undefined;
}

/** Whether the runtime speaks English (the catalogs' `lang`): the lib's own texts are English. */
function runtimeIsEnglish(RED: { _: Translate }): boolean {
  return !/^zh/i.test(shared(RED, `${HINT_CATALOG}.lang`) ?? 'en');
}

/** The translated hint for an error, long or short; undefined when the table has none. */
function hintText(RED: { _: Translate }, err: unknown, short = false): string | undefined {
  const key = hintKeyOf(err);
  return key ? shared(RED, `${HINT_CATALOG}.hints.${short ? 'short.' : ''}${key}`, hintVarsOf(err)) : undefined;
}

/**
 * The red status of a failure, at most 32 characters: code and short hint (`40164: IP not
 * whitelisted`, `C4C 401：用户或密码错误`), the short hint alone for the package's own codes,
 * `<code>: outcome unknown` when a change may have happened, else `failed: <code>`.
 */
export function failureStatus(RED: { _: Translate }, err: unknown): NodeStatus {
  const code = codeOf(err);
  const short = hintText(RED, err, true);
  let text: string;
  if ((err as { ambiguous?: unknown } | undefined)?.ambiguous === true) {
    text = shared(RED, `${HINT_CATALOG}.status.unknown-outcome`, { code: shortCode(code) }) ?? `${shortCode(code)}: outcome unknown`;
  } else if (short) {
    // a full-width colon after the code in Chinese, an ASCII one between two ASCII words
    text = showsCode(code, hintKeyOf(err)) ? `${shortCode(code)}：${short}`.replace(/^([\x00-\x7f]+)：(?=[\x00-\x7f])/, '$1: ') : short;
  } else {
    text = shared(RED, `${HINT_CATALOG}.status.failed`, { code: shortCode(code) }) ?? `failed: ${shortCode(code)}`;
  }
  return { fill: 'red', shape: 'ring', text: fit(text) };
}

export interface ReportOptions {
  /** scrub secrets from the message (the client's redact) */
  redact?: (text: string) => string;
  /** how the status is shown (a ThrottledStatus's `set`); default node.status */
  show?: (status: NodeStatus) => void;
}

export type ReportFailure = (node: NodeInstance, err: unknown, msg: NodeMessage | undefined, done?: (err?: Error) => void, opts?: ReportOptions) => Error;

/**
 * `reportFailure(node, err, msg, done)` for the nodes of one runtime: the short status, then
 * `done(err)` with an error whose `code` is a string and whose message ends with the long hint.
 * In an input handler `done` is the input's (Node-RED gives Catch nodes the input's msg); without
 * `done` (a timer, a queue) the error goes to Catch nodes with `msg` through node.error. A `done`
 * that ignores its argument only shows the status (a failure already reported). Returns the error.
 */
export function failureReporter(RED: { _: Translate }): ReportFailure {
  return (node, err, msg, done, opts = {}) => {
    const e: WeChatC4CError = err instanceof WeChatC4CError ? err : Object.assign(new WeChatC4CError(codeOf(err), err instanceof Error ? err.message : String(err)), {
      name: err instanceof Error ? err.name : 'Error',
      stack: err instanceof Error ? err.stack : undefined,
    });
    const hint = hintText(RED, e);
    let message = opts.redact ? opts.redact(e.message) : e.message;
    // the stack's first line is the original message: Node-RED hands `stack` on to Catch nodes too
    if (opts.redact && typeof e.stack === 'string') e.stack = opts.redact(e.stack);
    if (runtimeIsEnglish(RED)) {
      if (hint && !message.includes(hint)) message = `${message} (${hint})`;
    } else {
      // Another runtime language: the message a Catch node, the log and the dead-letter file show is
      // in it (the code and what to do); lib's English detail stays available as `msg.error.cause`.
      // (as `cause`: the one property besides `code` Node-RED hands on to Catch nodes)
      if ((e as { cause?: unknown }).cause === undefined) (e as WeChatC4CError & { cause?: unknown }).cause = `${e.name}: ${message}`;
      // Node-RED shows an error as `${name}: ${message}`: the class name is English, the code says it all
      e.name = '';
      message = shared(RED, `${HINT_CATALOG}.failure`, { code: shortCode(codeOf(e)), hint: hint ?? shared(RED, `${HINT_CATALOG}.failure-no-hint`) ?? '' }) ?? message;
    }
    e.message = message;
    (opts.show ?? ((s: NodeStatus) => node.status(s)))(failureStatus(RED, e));
    if (done) done(e);
    else node.error(e, msg);
    return e;
  };
}
