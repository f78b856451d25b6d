/** What a delivery's passive reply needs: the request's facts kept server-side, and `success`. */
import type { SealedReply } from '../store/types';

/** What the reply needs to know about the request, kept server-side (never in `msg`). */
export interface DeliveryInfo {
  /** Which EncodingAESKey decrypted the request (0 current, 1 previous, -1 plaintext); the reply uses the same. */
  keyIndex: number;
  /** The account's gh_ id (the request's ToUserName): the reply's FromUserName. */
  accountId: string;
  /** The follower's OpenID (the request's FromUserName): the reply's ToUserName. */
  follower: string;
  /** The request's MsgType (a news reply to a user's message may carry 1 article only). */
  msgType: string;
}

export const SUCCESS_REPLY: SealedReply = Object.freeze({ statusCode: 200, contentType: 'text/plain; charset=utf-8', body: 'success' });
