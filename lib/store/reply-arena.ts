/**
 * The sealed replies of the memory DeliveryStore, as bytes outside the V8 heap: appended in
 * completion order into segments (≤ 1 MiB), each dropped whole once its newest reply expired.
 * A reply's location is a number (segment seq * 2^21 + offset) the claim table keeps.
 */
import { envelopeSize, parseEnvelope, readEnvelope, writeEnvelope } from './reply-codec';
import type { SealedReply } from './types';

/**
 * Reply record header in the arena: status (u16); content type (u16: an interned index, or
 * INLINE | the length of the content type that follows the header); body length (u32, + PACKED
 * when the body is a packed safe-mode envelope).
 */
const HEADER = 8;
const INLINE = 0x8000;
const MAX_INLINE_CT = 0x7fff;
const PACKED = 0x80000000;
/** Distinct content types interned per store (then inline). */
const MAX_CONTENT_TYPES = 64;
const MAX_SEGMENT = 1 << 20;
const SEQ = 2 ** 21;
/** A location for "no reply kept" (a retry is answered `success`). */
export const NOT_KEPT = -1;

/** One arena segment: replies appended in completion order; dropped whole once its newest reply expired. */
interface Segment {
  seq: number;
  buf: Buffer;
  used: number;
  /** expiry of its newest reply (replies expire in the order they were written) */
  expires: number;
}

export class ReplyArena {
  private segments: Segment[] = [];
  private segmentBytes = 0;
  private nextSeq = 0;
  private readonly contentTypes: string[] = [];
  private readonly contentTypeIndex = new Map<string, number>();
  private readonly segmentSize: number;

  /** `fits(size)`: whether `size` more bytes stay within the store's bound (claims included). */
  constructor(maxBytes: number, private readonly replyTtlMs: number, private readonly fits: (size: number) => boolean) {
    this.segmentSize = Math.max(4096, Math.min(MAX_SEGMENT, 2 ** Math.floor(Math.log2(Math.max(1, maxBytes / 16)))));
  }

  /** Bytes allocated for segments. */
  get bytes(): number {
    return this.segmentBytes;
  }

  /** Segments held. */
  get segmentCount(): number {
    return this.segments.length;
  }

  /** Append a reply to the arena; returns its location (segment seq * 2^21 + offset). */
  write(reply: SealedReply, now: number): number {
    // The content type by reference (a webhook sends two or three distinct ones); a safe-mode
    // envelope packed (reply-codec.ts: ~330 bytes instead of ~580), anything else as it is.
    const ctRef = this.contentTypeRef(reply.contentType);
    const ctLen = ctRef === INLINE ? Buffer.byteLength(reply.contentType, 'utf8') : 0;
    // An inline content type carries its length in 15 bits: a longer one (no real reply has one)
    // is not kept, and a retry is answered `success`.
    if (ctLen > MAX_INLINE_CT) return NOT_KEPT;
    const envelope = parseEnvelope(reply.body);
    const bodyLen = envelope ? envelopeSize(envelope) : Buffer.byteLength(reply.body, 'utf8');
    const need = HEADER + ctLen + bodyLen;
    let seg = this.segments[this.segments.length - 1];
    if (!seg || seg.used + need > seg.buf.length) {
      // A reply larger than a segment gets a segment of its own size.
      const size = Math.max(this.segmentSize, need);
      // Past the bound: the oldest replies go first; if claims hold the rest, the oldest claims.
      while (this.segments.length && !this.fits(size)) this.dropSegment();
      if (!this.fits(size)) return NOT_KEPT;
      seg = { seq: this.nextSeq++, buf: Buffer.allocUnsafeSlow(size), used: 0, expires: 0 };
      this.segments.push(seg);
      this.segmentBytes += size;
    }
    const at = seg.used;
    seg.buf.writeUInt16LE(reply.statusCode & 0xffff, at);
    seg.buf.writeUInt16LE(ctRef === INLINE ? INLINE | ctLen : ctRef, at + 2);
    seg.buf.writeUInt32LE((envelope ? PACKED : 0) + bodyLen, at + 4);
    if (ctLen) seg.buf.write(reply.contentType, at + HEADER, ctLen, 'utf8');
    if (envelope) writeEnvelope(seg.buf, at + HEADER + ctLen, envelope);
    else seg.buf.write(reply.body, at + HEADER + ctLen, bodyLen, 'utf8');
    seg.used += need;
    seg.expires = now + this.replyTtlMs;
    return seg.seq * SEQ + at;
  }

  /** Index of an interned content type, or INLINE (too many distinct ones, or too long). */
  private contentTypeRef(contentType: string): number {
    const known = this.contentTypeIndex.get(contentType);
    if (known !== undefined) return known;
    if (this.contentTypes.length >= MAX_CONTENT_TYPES || contentType.length > 1024) return INLINE;
    this.contentTypes.push(contentType);
    this.contentTypeIndex.set(contentType, this.contentTypes.length - 1);
    return this.contentTypes.length - 1;
  }

  /** A completed claim's reply: the sealed bytes while its segment is kept, else null (= `success`). */
  replyAt(loc: number): SealedReply | null {
    if (loc < 0) return null;
    const seq = Math.floor(loc / SEQ);
    const first = this.segments[0];
    const seg = first ? this.segments[seq - first.seq] : undefined;
    if (!seg || seg.seq !== seq) return null;
    const at = loc % SEQ;
    const ctRef = seg.buf.readUInt16LE(at + 2);
    const ctLen = ctRef & INLINE ? ctRef & ~INLINE : 0;
    const lenWord = seg.buf.readUInt32LE(at + 4);
    const bodyLen = lenWord >= PACKED ? lenWord - PACKED : lenWord;
    const bodyAt = at + HEADER + ctLen;
    return {
      statusCode: seg.buf.readUInt16LE(at),
      contentType: ctRef & INLINE ? seg.buf.toString('utf8', at + HEADER, bodyAt) : this.contentTypes[ctRef],
      body: lenWord >= PACKED ? readEnvelope(seg.buf, bodyAt, bodyLen) : seg.buf.toString('utf8', bodyAt, bodyAt + bodyLen),
    };
  }

  private dropSegment(): void {
    const seg = this.segments.shift();
    if (seg) this.segmentBytes -= seg.buf.length;
  }

  /** Segments whose newest reply expired by `now` out (they are in time order: stop at the first live one). */
  sweep(now: number): void {
    while (this.segments.length && this.segments[0].expires <= now) this.dropSegment();
  }

  clear(): void {
    this.segments = [];
    this.segmentBytes = 0;
  }
}
