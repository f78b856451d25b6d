/** WXBizMsgCrypt error codes, named as in the official samples. */
export const CryptoErrorCode = {
  ValidateSignature: -40001,
  ParseXml: -40002,
  ComputeSignature: -40003,
  IllegalAesKey: -40004,
  ValidateAppid: -40005,
  EncryptAES: -40006,
  DecryptAES: -40007,
  IllegalBuffer: -40008,
  EncodeBase64: -40009,
  DecodeBase64: -40010,
  GenReturnXml: -40011,
} as const;

export type CryptoErrorCodeValue = (typeof CryptoErrorCode)[keyof typeof CryptoErrorCode];

/** An error from the WeChat message crypto. The message never contains key material. */
export class WeChatCryptoError extends Error {
  readonly code: CryptoErrorCodeValue;
  constructor(code: CryptoErrorCodeValue, message: string) {
    super(message);
    this.name = 'WeChatCryptoError';
    this.code = code;
  }
}

// ---- WeChat API (api.weixin.qq.com) ---------------------------------------------------------

/** WeChat answered with a non-zero errcode. `code` is the errcode, so a Catch node can switch on it. */
export class WeChatApiError extends Error {
  readonly code: number;
  readonly errcode: number;
  readonly errmsg: string;
  readonly hint: string | undefined;
  readonly api: string;
  constructor(api: string, errcode: number, errmsg: string) {
    const hint = hintFor(errcode, errmsg);
    super(`WeChat ${api} failed: ${errcode} ${errmsg}${hint ? ` (${hint})` : ''}`);
    this.name = 'WeChatApiError';
    this.code = errcode;
    this.errcode = errcode;
    this.errmsg = errmsg;
    this.hint = hint;
    this.api = api;
  }
}

/**
 * The HTTP exchange itself failed. `code` is a string: a network code (`ECONNREFUSED`,
 * `ETIMEDOUT`, ...), `HTTP_<status>` (any status but 200), `BAD_JSON`, `BAD_TOKEN`, `CLOSED`
 * (redeploy), `FORCE_REFRESH_TOO_SOON`. No URL, header or body inside.
 */
export class WeChatHttpError extends Error {
  readonly code: string;
  readonly statusCode: number | undefined;
  constructor(api: string, code: string, detail: string, statusCode?: number) {
    super(`WeChat ${api} failed: ${detail}`);
    this.name = 'WeChatHttpError';
    this.code = code;
    this.statusCode = statusCode;
  }
}

/** A hint for the errcodes integrators hit most, in the words of the fix. */
export function hintFor(errcode: number, errmsg = ''): string | undefined {
  switch (errcode) {
    case 40164:
    case 61004: {
      const ip = /(?:invalid ip|ip)\s+([0-9a-fA-F.:]+)/.exec(errmsg)?.[1];
      return `add the caller IP ${ip ?? '(see errmsg)'} to the IP whitelist (基本配置 → IP白名单)`;
    }
    case 89503:
      return 'an account administrator must confirm this IP in the WeChat admin console';
    case 40125:
      return 'the AppSecret is wrong (reset it in 基本配置 and update wechat-config)';
    case 40013:
      return 'the AppID is wrong';
    case 45015:
      return 'outside the customer-service window: the follower must interact again (or use a template message)';
    case 45047:
      return 'customer-service quota for this follower used up (3 within 1 minute after a follow, 5 within 48 h after a message)';
    case 45009:
      return 'daily API quota used up; it resets at midnight (Beijing time) or can be cleared in the admin console';
    case 43004:
      return 'the recipient does not follow the account';
    case 40037:
      return 'the template ID is wrong or the template was deleted (模板消息 / 订阅通知 → 我的模板)';
    case 47003:
      return 'the template data does not fit the template (a key or a value breaks its type\'s rules)';
    case 43101:
      return 'the follower has not accepted this subscription notice';
    case 40003:
      return 'the OpenID does not belong to this account';
    case 48001:
      return 'the account is not authorised for this API (unverified account?)';
    case -1:
      return 'WeChat is busy; retry later';
    default:
      return undefined;
  }
}
