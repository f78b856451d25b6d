/**
 * Every error the C4C side reports, with a string code a Catch node can switch on:
 * - an OData error code from C4C (e.g. `SY/530`), or `C4C_<status>` when C4C sent none (C4C often
 *   sends an empty code; the text is then C4C's, in the logon language);
 * - `C4C_REDIRECT` (3xx: a wrong baseUrl/servicePath, e.g. a missing slash → 307; `location` set),
 *   `C4C_NOT_ODATA` (an HTML login/error page or an empty body where OData JSON was expected),
 *   `C4C_INPUT` (refused before any request), `C4C_CONFIG`, `C4C_CLOSED` (redeploy), `C4C_METADATA`;
 * - a network code (`ECONNRESET`, `ETIMEDOUT`, ...).
 */
import { AMBIGUOUS_STATUS, TRANSIENT_STATUS } from '../util/http';

export type C4CErrorCode = 'C4C_REDIRECT' | 'C4C_NOT_ODATA' | 'C4C_INPUT' | 'C4C_CONFIG' | 'C4C_CLOSED' | 'C4C_METADATA' | `C4C_${number}` | string;

export class C4CError extends Error {
  readonly code: C4CErrorCode;
  readonly statusCode: number | undefined;
  readonly transient: boolean;
  /** what to check (baseUrl, servicePath, credentials), for statuses and the admin check */
  hint?: string;
  /** the Location of a redirect */
  location?: string;
  /** true when a change may have been processed although no answer came (timeout, reset, 502/504) */
  ambiguous?: boolean;
  /** 403 + x-csrf-token: Required */
  csrfRequired?: boolean;
  retryAfterMs?: number;
  constructor(message: string, code: C4CErrorCode, statusCode?: number, transient = false) {
    super(message);
    this.name = 'C4CError';
    this.code = code;
    this.statusCode = statusCode;
    this.transient = transient;
  }
}

/** Input the node can reject before anything is sent. */
export class C4CInputError extends C4CError {
  constructor(message: string) {
    super(message, 'C4C_INPUT');
    this.name = 'C4CInputError';
  }
}

const HINT_URL = 'check baseUrl and servicePath in c4c-config (e.g. https://my000000.crm.ondemand.com and /sap/c4c/odata/v1/c4codataapi)';

export function redirectError(status: number, location: string, what: string): C4CError {
  const e = new C4CError(`C4C ${what} failed: HTTP ${status} redirect to ${location || '(no location)'}; ${HINT_URL}`, 'C4C_REDIRECT', status);
  e.location = location;
  e.hint = HINT_URL;
  return e;
}

export function notODataError(status: number, contentType: string, body: string, what: string): C4CError {
  const title = /<title[^>]*>([^<]{0,80})/i.exec(body)?.[1]?.trim();
  const kind = !body.trim() ? 'an empty body' : /html/i.test(contentType) || /^\s*</.test(body) ? `an HTML page${title ? ` ("${title}")` : ''} (a logon or error page)` : `a ${contentType || 'non-JSON'} body`;
  const e = new C4CError(`C4C ${what} failed: HTTP ${status} with ${kind} instead of OData JSON; ${HINT_URL}`, 'C4C_NOT_ODATA', status);
  e.hint = HINT_URL;
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
