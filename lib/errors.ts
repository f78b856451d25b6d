/**
 * The one failure model of the package: every error lib/ throws on purpose is a WeChatC4CError.
 * - `code` is always a string a Catch node can switch on: a WeChat errcode as its decimal text
 *   (`"45015"`, `"-1"`, the crypto codes `"-40001"`…), a C4C OData code (`SY/530`), `C4C_<status>`,
 *   a network code (`ECONNREFUSED`), or one of the package's own (`TEMPLATE_DATA`, `STORE_UNAVAILABLE`…).
 *   docs/nodes.md lists them.
 * - `errcode` keeps a WeChat errcode as a number.
 * - `hintKey` names the entry of the one hint table (the `hints` section of the wechat-config
 *   catalogs, see lib/hints.ts) that says what to fix; it is the code itself unless the error
 *   says otherwise (a C4C network error: `C4C_UNREACHABLE`), and undefined when there is no hint.
 * - `transient`: trying again later may succeed (busy, network, 5xx, a store outage).
 * - `ambiguous`: the change may have happened although no answer said so (a timeout after sending).
 */
export interface FailureOptions {
  errcode?: number;
  /** the hint table's key; default: the code */
  hintKey?: string | null;
  /** values the hint's text names (`__ip__`) */
  hintVars?: Record<string, string>;
  transient?: boolean;
  ambiguous?: boolean;
}

export class WeChatC4CError extends Error {
  readonly code: string;
  readonly errcode: number | undefined;
  hintKey: string | undefined;
  hintVars: Record<string, string> | undefined;
  transient: boolean;
  ambiguous: boolean;
  constructor(code: string | number, message: string, opts: FailureOptions = {}) {
    super(message);
    this.name = 'WeChatC4CError';
    this.code = String(code);
    this.errcode = opts.errcode;
    this.hintKey = opts.hintKey === null ? undefined : opts.hintKey ?? this.code;
    this.hintVars = opts.hintVars;
    this.transient = opts.transient ?? false;
    this.ambiguous = opts.ambiguous ?? false;
  }
}

/** The code of any error as a string (`ERROR` when it has none): what a Catch node sees. */
export function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code ? code : typeof code === 'number' ? String(code) : 'ERROR';
}
