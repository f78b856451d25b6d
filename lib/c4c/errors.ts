/**
 * Every error the C4C side reports, with a string code a Catch node can switch on:
 * - an OData error code from C4C (e.g. `SY/530`), or `C4C_<status>` when C4C sent none (C4C often
 *   sends an empty code; the text is then C4C's, in the logon language);
 * - `C4C_REDIRECT` (3xx: a wrong baseUrl/servicePath, e.g. a missing slash → 307; `location` set),
 *   `C4C_NOT_ODATA` (an HTML login/error page or an empty body where OData JSON was expected),
 *   `C4C_INPUT` (refused before any request), `C4C_CONFIG`, `C4C_CLOSED` (redeploy), `C4C_METADATA`;
 * - a network code (`ECONNRESET`, `ETIMEDOUT`, ...).
 */
import { WeChatC4CError } from '../errors';
import { AMBIGUOUS_STATUS, MAYBE_SENT_CODES, NOT_SENT_CODES, TRANSIENT_STATUS } from '../util/http';

export type C4CErrorCode = 'C4C_REDIRECT' | 'C4C_NOT_ODATA' | 'C4C_INPUT' | 'C4C_CONFIG' | 'C4C_CLOSED' | 'C4C_METADATA' | `C4C_${number}` | string;

/** Network codes that mean "the tenant cannot be reached" and "no answer in time": one hint each (lib/hints.ts). */
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ECONNABORTED', 'ERR_SOCKET_CONNECTION_TIMEOUT']);

export class C4CError extends WeChatC4CError {
  declare readonly code: C4CErrorCode;
  readonly statusCode: number | undefined;
  /** the Location of a redirect */
  location?: string;
  /** 403 + x-csrf-token: Required */
  csrfRequired?: boolean;
  retryAfterMs?: number;
  /**
   * How many settle periods an ambiguous create's outcome stays unknown (unset: 1). n for a create
   * whose whole `$batch` of n failed: C4C runs them one after another and may still be working
   * through them. 0 for a create that a complete `$batch` answer left unanswered: C4C has finished
   * that `$batch` (it stopped at an earlier changeset), so one lookup before it is sent again is enough.
   */
  settlePeriods?: number;
  constructor(message: string, code: C4CErrorCode, statusCode?: number, transient = false) {
    // A network code on the C4C side points at the Tenant URL (or the timeout), not at the code itself.
    const network = statusCode === undefined && (NOT_SENT_CODES.has(code) || MAYBE_SENT_CODES.has(code) || /^E[A-Z_]+$/.test(code));
    super(code, message, { transient, hintKey: network ? (TIMEOUT_CODES.has(code) ? 'C4C_TIMEOUT' : 'C4C_UNREACHABLE') : code === 'C4C_401' || statusCode === 401 ? 'C4C_401' : code });
    this.name = 'C4CError';
    this.statusCode = statusCode;
  }
}

/** Input the node can reject before anything is sent. */
export class C4CInputError extends C4CError {
  constructor(message: string) {
    super(message, 'C4C_INPUT');
    this.name = 'C4CInputError';
  }
}

export function redirectError(status: number, location: string, what: string): C4CError {
  const e = new C4CError(`C4C ${what} failed: HTTP ${status} redirect to ${location || '(no location)'}`, 'C4C_REDIRECT', status);
  e.location = location;
  return e;
}

export function notODataError(status: number, contentType: string, body: string, what: string): C4CError {
  const title = /<title[^>]*>([^<]{0,80})/i.exec(body)?.[1]?.trim();
  const kind = !body.trim() ? 'an empty body' : /html/i.test(contentType) || /^\s*</.test(body) ? `an HTML page${title ? ` ("${title}")` : ''} (a logon or error page)` : `a ${contentType || 'non-JSON'} body`;
  const e = new C4CError(`C4C ${what} failed: HTTP ${status} with ${kind} instead of OData JSON`, 'C4C_NOT_ODATA', status);
  return e;
}

/** Turn an OData v2 error answer into a C4CError: message = error.message.value, code = error.code or C4C_<status>. */
export function odataError(status: number, body: string, what: string): C4CError {
  let message = '';
  let code = '';
  try {
    const parsed = JSON.parse(body) as { error?: { code?: string; message?: { value?: string } | string } };
    if (parsed && parsed.error) {
      code = typeof parsed.error.code === 'string' ? parsed.error.code.trim() : '';
      const m = parsed.error.message;
      message = typeof m === 'string' ? m : m && typeof m.value === 'string' ? m.value : '';
    }
  } catch {
    const xmlMessage = /<message[^>]*>([^<]*)<\/message>/.exec(body)?.[1];
    if (xmlMessage) message = xmlMessage;
    const xmlCode = /<code>([^<]*)<\/code>/.exec(body)?.[1];
    if (xmlCode) code = xmlCode.trim();
  }
  if (status === 401) message = message && !/^\s*</.test(message) ? message : 'C4C rejected the credentials: check the user and password (or the client certificate) in c4c-config';
  if (!message) message = `HTTP ${status}`;
  const e = new C4CError(`C4C ${what} failed (${status}): ${message}`, code || `C4C_${status}`, status, TRANSIENT_STATUS.has(status));
  if (AMBIGUOUS_STATUS.has(status)) e.ambiguous = true;
  return e;
}
