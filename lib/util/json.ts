/**
 * JSON.parse that keeps 64-bit integers exact: any integer too long for a double (16+ digits)
 * becomes a string instead of being rounded, and `msgid`-like fields are always strings so their
 * type never depends on their size. String literals are skipped, so digits inside them are safe.
 */
const TOKEN = /("(?:[^"\\]|\\.)*")|(-?\d{16,})(?=\s*[,}\]])/g;
const ID_KEYS = new Set(['msgid', 'msg_id', 'msg_data_id']);

export function parseJsonExact(text: string): unknown {
  const fixed = text.replace(TOKEN, (match: string, str: string | undefined, big: string | undefined) =>
    str === undefined && big !== undefined ? `"${big}"` : match);
  return JSON.parse(fixed, (key: string, value: unknown) =>
    typeof value === 'number' && Number.isInteger(value) && ID_KEYS.has(key.toLowerCase()) ? String(value) : value);
}
