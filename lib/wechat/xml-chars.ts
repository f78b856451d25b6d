/**
 * Characters XML 1.0 does not allow (the Char production): C0 controls other than tab, LF and
 * CR, U+FFFE, U+FFFF, and surrogates that are not part of a pair. Checked with a plain character
 * class and `String.prototype.isWellFormed` (both native scans): the one regular expression with
 * look-arounds for lone surrogates cost ~2.5 µs a webhook request.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Both, for removing (only used when one of them is there). */
const INVALID_G = new RegExp(`${CONTROL.source}|${LONE_SURROGATE.source}`, 'g');

type WellFormed = { isWellFormed?: () => boolean };

function wellFormed(s: string): boolean {
  const f = (s as unknown as WellFormed).isWellFormed;
  return typeof f === 'function' ? f.call(s) : !LONE_SURROGATE.test(s);
}

/** True when `s` holds a character XML 1.0 forbids. */
export function hasForbiddenXmlChar(s: string): boolean {
  return CONTROL.test(s) || !wellFormed(s);
}

/** `s` without the characters XML 1.0 forbids (unchanged, and not copied, when it has none). */
export function stripForbiddenXmlChars(s: string): string {
  return hasForbiddenXmlChar(s) ? s.replace(INVALID_G, '') : s;
}
