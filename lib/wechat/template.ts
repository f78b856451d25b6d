import { WeChatC4CError } from '../errors';
/**
 * WeChat's current rules for template-message (模板消息) and subscription-notice (订阅通知) data,
 * checked before sending so that a follower never gets a message WeChat cut short or refused.
 *
 * Rules (developers.weixin.qq.com, "模板消息接口 → 类目模板消息 参数值内容限制说明" and the
 * subscription-notice send API; the 2023 template-message changes announced for 2023-05-04):
 * - no custom colour any more (`color` is ignored by WeChat), the `first` and `remark` lines are no
 *   longer shown: WeChat accepts and ignores them, so they are dropped here (the caller is told
 *   which, to warn) and the message is sent without them; every value is a string in `{value}`;
 * - the key's type is its name without the trailing digits (`thing3` → `thing`):
 *   thing ≤ 20 characters; number ≤ 32 digits (decimals allowed); letter ≤ 32 letters;
 *   symbol ≤ 5 symbols; character_string ≤ 32 digits, letters or symbols (no Chinese);
 *   time / date: a date or 24-hour time, ranges joined with `~`; amount: one currency symbol +
 *   at most 10 digits (template messages: 12), decimals allowed, may end with 元;
 *   phone_number ≤ 17 digits and symbols; car_number ≤ 8, first and last may be Chinese, the
 *   rest letters or digits; name ≤ 10 Chinese characters or ≤ 20 letters/symbols (mixed counts
 *   as Chinese); phrase ≤ 5 Chinese characters only; const ≤ 20 characters.
 *   Keys of old (pre-2023) templates (`keyword1`…) are held to the 20-character line limit.
 */

export type TemplateChannel = 'template' | 'subscribe';

export interface TemplateRuleIssue {
  key: string;
  reason: string;
}

/** The data was refused before sending. `code` is stable for Catch nodes; `issues` lists every field. */
export class TemplateDataError extends WeChatC4CError {
  readonly issues: TemplateRuleIssue[];
  constructor(channel: TemplateChannel, issues: TemplateRuleIssue[]) {
    super('TEMPLATE_DATA', `${channel === 'template' ? 'template message' : 'subscription notice'} data breaks WeChat's rules: ${issues.map((i) => `${i.key}: ${i.reason}`).join('; ')}`);
    this.name = 'TemplateDataError';
    this.issues = issues;
  }
}

const HAN = /\p{Script=Han}/u;
const ONLY_HAN = /^\p{Script=Han}+$/u;
const LETTERS = /^[A-Za-z]+$/;
const DIGITS_DECIMAL = /^[+-]?\d+(\.\d+)?$/;
// Anything printable that is neither a letter, a digit nor a Chinese character, nor a space.
const SYMBOL = /^[^\p{L}\p{N}\s]+$/u;
const NO_HAN_NO_SPACE = /^[^\p{Script=Han}\s]+$/u;
const DATE_TIME = /^[0-9年月日时分秒点:：\-/.\s~～T]+$/u;
const PHONE = /^[0-9+\-()（）\s]+$/u;
const CAR = /^[\p{Script=Han}A-Za-z0-9][A-Za-z0-9]{0,6}[\p{Script=Han}A-Za-z0-9]?$/u;

/** Characters as a person counts them (a Chinese character or an emoji is one). */
function charCount(text: string): number {
  return Array.from(text).length;
}

/** The type of a template key: `thing12` → `thing`, `character_string3` → `character_string`. */
function keyType(key: string): string {
  return key.replace(/\d+$/, '');
}

function checkValue(type: string, value: string, channel: TemplateChannel): string | undefined {
  const n = charCount(value);
  switch (type) {
    case 'thing':
    case 'const':
      return n > 20 ? `${type} allows at most 20 characters (has ${n})` : undefined;
    case 'number':
      if (!DIGITS_DECIMAL.test(value)) return 'number allows digits only (a decimal point allowed)';
      return n > 32 ? `number allows at most 32 digits (has ${n})` : undefined;
    case 'letter':
      if (!LETTERS.test(value)) return 'letter allows letters only';
      return n > 32 ? `letter allows at most 32 letters (has ${n})` : undefined;
    case 'symbol':
      if (!SYMBOL.test(value)) return 'symbol allows symbols only';
      return n > 5 ? `symbol allows at most 5 symbols (has ${n})` : undefined;
    case 'character_string':
      if (!NO_HAN_NO_SPACE.test(value)) return 'character_string allows digits, letters and symbols only (no Chinese, no spaces)';
      return n > 32 ? `character_string allows at most 32 characters (has ${n})` : undefined;
    case 'time':
    case 'date':
      if (!/\d/.test(value) || !DATE_TIME.test(value)) return `${type} must be a date/24-hour time such as 2026年12月1日 15:01 (ranges joined with ~)`;
      return undefined;
    case 'amount': {
      const max = channel === 'template' ? 12 : 10;
      const m = /^[^\d\s.]?(\d+)(\.\d+)?元?$/u.exec(value);
      if (!m) return 'amount must be one currency symbol and digits (a decimal point, a final 元 allowed)';
      return m[1].length > max ? `amount allows at most ${max} digits (has ${m[1].length})` : undefined;
    }
    case 'phone_number':
      if (!PHONE.test(value)) return 'phone_number allows digits and symbols only';
      return n > 17 ? `phone_number allows at most 17 characters (has ${n})` : undefined;
    case 'car_number':
      return n > 8 || !CAR.test(value) ? 'car_number: at most 8, first and last may be Chinese, the rest letters or digits' : undefined;
    case 'name':
      if (HAN.test(value)) return n > 10 ? `name allows at most 10 characters when it has Chinese (has ${n})` : undefined;
      return n > 20 ? `name allows at most 20 letters or symbols (has ${n})` : undefined;
    case 'phrase':
      if (!ONLY_HAN.test(value)) return 'phrase allows Chinese characters only';
      return n > 5 ? `phrase allows at most 5 Chinese characters (has ${n})` : undefined;
    default:
      // An old-style key (keyword1 …) or a type without a published limit: the 20-character line.
      return n > 20 ? `at most 20 characters per line (has ${n})` : undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** Data keys WeChat ignores since 2023-05-04 (the lines are no longer shown): dropped, not sent. */
const IGNORED_KEYS: readonly string[] = ['first', 'remark'];

/**
 * The `data` object WeChat expects (`{key: {value: string}}`) from what a flow gives: an object
 * whose values are plain (wrapped as `{value}`) or already `{value}`. Throws TemplateDataError
 * listing every field that breaks the rules; nothing is sent then. What WeChat ignores (`first`,
 * `remark`, a field's `color`) is left out and its name (`first`, `thing1.color`) pushed onto
 * `dropped`.
 */
export function templateData(input: unknown, channel: TemplateChannel, dropped: string[] = []): Record<string, { value: string }> {
  if (!isObject(input)) throw new TemplateDataError(channel, [{ key: '(data)', reason: 'must be an object {key: value}' }]);
  const issues: TemplateRuleIssue[] = [];
  const out: Record<string, { value: string }> = {};
  const keys = Object.keys(input);
  if (keys.length === 0) issues.push({ key: '(data)', reason: 'no fields' });
  for (const key of keys) {
    const raw = input[key];
    if (IGNORED_KEYS.includes(key)) {
      dropped.push(key);
      continue;
    }
    let value: unknown = raw;
    if (isObject(raw)) {
      if ('color' in raw) dropped.push(`${key}.color`);
      const extra = Object.keys(raw).filter((k) => k !== 'value' && k !== 'color');
      if (extra.length) {
        issues.push({ key, reason: `unknown field ${extra[0]} (only value)` });
        continue;
      }
      value = raw.value;
    }
    if (value === undefined || value === null || (typeof value === 'object')) {
      issues.push({ key, reason: 'needs a value (text or number)' });
      continue;
    }
    const text = String(value);
    if (text.trim() === '') {
      issues.push({ key, reason: 'empty value' });
      continue;
    }
    const reason = checkValue(keyType(key), text, channel);
    if (reason) issues.push({ key, reason });
    out[key] = { value: text };
  }
  if (issues.length) throw new TemplateDataError(channel, issues);
  return out;
}
