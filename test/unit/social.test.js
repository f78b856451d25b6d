'use strict';
const assert = require('node:assert/strict');
const lib = require('../../dist/lib');
const { C4CSimulator } = require('../../dist/sandbox/c4c');
const { WeChatApiSimulator } = require('../../dist/sandbox/wechat-api');
const { useSimulator } = require('../helpers/sims');

const USER = 'SANDBOX_USER';
const PASSWORD = 'sandbox-password-42';
const CHANNEL = { channelCode: '905', providerId: 'WECHAT_SANDBOX' };
const HOUR = 3600 * 1000;
// SAP's accelerator sample of the mashup form (as published; values illustrative)
const SAMPLE_FORM = 'content=%7B%22original_id%22%3A%2222946873465237453%22%2C%22sma_id%22%3A%2259161%22%2C%22service_req_no%22%3A%221034190%22%2C%22author_name%22%3A%22Jerry%20Wang%22%2C%22author_email%22%3A%22%22%2C%22sma_create_datetime%22%3A%222017-12-28T02%3A27%3A14Z%22%2C%22private_ind%22%3A%22FALSE%22%2C%22text%22%3A%22detail%20text%20here%22%7D';

let msgSeq = 22946873465237453n;
const NOW = Math.floor(Date.now() / 1000);
function message(openid, type, fields = {}, createTime = NOW) {
  msgSeq += 1n;
  return { ToUserName: 'gh_5ba5fad812f8', FromUserName: openid, CreateTime: String(createTime), MsgType: type, ...fields, MsgId: msgSeq.toString() };
}

describe('conversations: activity bodies (lib/c4c/social)', () => {
  it('Text by type: text exactly, voice Recognition, location label and both coordinates, link title/description/url, image marker + PicUrl', () => {
    assert.equal(lib.activityText({ MsgType: 'text', Content: '  你好\nline 2 ' }), '  你好\nline 2 ');
    assert.equal(lib.activityText({ MsgType: 'voice', Recognition: '我要退货' }), '我要退货');
    assert.equal(lib.activityText({ MsgType: 'voice', Recognition: '' }), '[voice]');
    assert.equal(lib.activityText({ MsgType: 'location', Label: '上海市徐汇区', Location_X: '31.19', Location_Y: '121.43' }), '[location] 上海市徐汇区 (31.19, 121.43)');
    assert.equal(lib.activityText({ MsgType: 'link', Title: 'Order', Description: 'my order', Url: 'https://example.com/o/1' }), '[link] Order\nmy order\nhttps://example.com/o/1');
    assert.equal(lib.activityText({ MsgType: 'image', PicUrl: 'http://mmbiz.qpic.cn/x' }), '[image] http://mmbiz.qpic.cn/x');
    assert.equal(lib.activityText({ MsgType: 'video' }, 'media expired'), '[video]\n[media expired]');
  });

  it('the activity: category 001, initiator 2 (customer), channel, provider, the 64-bit MsgId as a string, the profile UUID, parent and attachment', () => {
    const body = lib.activityBody({
      message: { MsgType: 'image', PicUrl: 'http://p', MsgId: '24681357924681357901' },
      openid: 'oABC', channel: CHANNEL, profileUUID: '00163e0a-e1dd-1eda-9fb8-a1c5c6d7e8f9', parentUUID: 'AAAA', attachment: { bytes: Buffer.from('PNG!'), mimeType: 'image/png', name: 'a.png' },
    });
    assert.deepEqual(body, {
      CategoryCode: '001', InitiatorCode: '2', SocialMediaChannelCode: '905', SocialMediaActivityProviderID: 'WECHAT_SANDBOX',
      SocialMediaMessageID: '24681357924681357901', SocialMediaUserProfileUUID: '00163e0a-e1dd-1eda-9fb8-a1c5c6d7e8f9', SocialMediaMessageAuthor: 'oABC',
      Text: '[image] http://p', ParentSocialMediaActivityUUID: 'AAAA',
      SocialMediaActivityAttachmentFolder: [{ Binary: Buffer.from('PNG!').toString('base64'), MimeType: 'image/png', Name: 'a.png', CategoryCode: '2', TypeCode: '10001' }],
    });
  });

  it('the profile: category 02, the OpenID on the channel, bound to the customer when known', () => {
    assert.deepEqual(lib.profileBody('oX', CHANNEL), { SocialMediaUserCategoryCode: '02', SocialMediaUserProfileUserInformation: [{ SocialMediaChannelCode: '905', ExternalPartyAccountID: 'WECHAT_SANDBOX', SocialMediaUserAccountID: 'oX', SocialMediaUserName: 'oX' }] });
    const bound = lib.profileBody('oX', CHANNEL, '00163E0AE1DD1EDA9FB8A1C5C6D7E8F9');
    assert.deepEqual(bound.SocialMediaUserProfileBupaReference, [{ BusinessPartnerCategoryCode: '1', BusinessPartnerRoleCode: 'BUP001', BusinessPartnerUUID: '00163E0A-E1DD-1EDA-9FB8-A1C5C6D7E8F9' }]);
  });

  it('ObjectID ↔ UUID; the thread rule', () => {
    assert.equal(lib.toUuid('00163E0AE1DD1EDA9FB8A1C5C6D7E8F9'), '00163E0A-E1DD-1EDA-9FB8-A1C5C6D7E8F9');
    assert.equal(lib.toObjectId('00163e0a-e1dd-1eda-9fb8-a1c5c6d7e8f9'), '00163E0AE1DD1EDA9FB8A1C5C6D7E8F9');
    assert.equal(lib.threadParent({ at: 0, root: 'R' }, HOUR, 24 * HOUR), 'R');
    assert.equal(lib.threadParent({ at: 0, root: 'R' }, 25 * HOUR, 24 * HOUR), undefined);
    assert.equal(lib.threadParent(undefined, 0, 24 * HOUR), undefined);
  });
});

describe('conversations: the agent reply body', () => {
  const sample = { originalId: '22946873465237453', activityId: '59161', ticketId: '1034190', authorName: 'Jerry Wang', authorEmail: '', createdAt: '2017-12-28T02:27:14Z', private: false, text: 'detail text here' };
  it('the mashup form content=<JSON> (raw, as Node-RED parsed it, and percent-escaped once more), and JSON', () => {
    assert.deepEqual(lib.parseAgentReply(SAMPLE_FORM, 'application/x-www-form-urlencoded'), sample);
    const content = decodeURIComponent(SAMPLE_FORM.slice('content='.length));
    assert.deepEqual(lib.parseAgentReply({ content }, 'application/x-www-form-urlencoded'), sample);
    assert.deepEqual(lib.parseAgentReply({ content: encodeURIComponent(content) }, 'application/x-www-form-urlencoded'), sample);
    assert.deepEqual(lib.parseAgentReply(JSON.parse(content), 'application/json'), sample);
    assert.deepEqual(lib.parseAgentReply(Buffer.from(content), 'application/json'), sample);
    assert.equal(lib.parseAgentReply({ ...JSON.parse(content), private_ind: 'TRUE' }).private, true);
  });
  it('refused: neither shape, no text, neither original_id nor service_req_no', () => {
    assert.match(lib.parseAgentReply('hello', 'text/plain').reason, /neither a form/);
    assert.match(lib.parseAgentReply({ content: '{not json' }).reason, /neither a form/);
    assert.match(lib.parseAgentReply({ original_id: '1', text: '  ' }).reason, /no text/);
    assert.match(lib.parseAgentReply({ original_id: '', service_req_no: '', text: 'hi' }).reason, /neither original_id nor service_req_no/);
    assert.equal(lib.parseAgentReply({ original_id: '', service_req_no: '1034190', text: 'hi' }).ticketId, '1034190');
  });
  it('Basic credentials: right, wrong, missing; both expected empty means no check', () => {
    const basic = (u, p) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    assert.equal(lib.basicAuthOk(basic('MASHUP', 'pw:1'), 'MASHUP', 'pw:1'), true);
    assert.equal(lib.basicAuthOk(basic('MASHUP', 'pw'), 'MASHUP', 'pw:1'), false);
    assert.equal(lib.basicAuthOk(undefined, 'MASHUP', 'pw:1'), false);
    assert.equal(lib.basicAuthOk(undefined, '', ''), true);
  });
});

describe('conversations: SocialService against the C4C simulator', function () {
  this.timeout(20000);
  let sim;
  let base;
  useSimulator(() => new C4CSimulator({ users: { [USER]: PASSWORD } }), (s, b) => { sim = s; base = b; });
  const clients = [];
  afterEach(() => { while (clients.length) clients.pop().close(); });
  function service(opts = {}, clientOpts = {}) {
    const client = new lib.C4CClient({ baseUrl: base, username: USER, password: PASSWORD, retry: { retries: 2, baseMs: 10 }, timeoutMs: 3000, ...clientOpts });
    clients.push(client);
    return new lib.SocialService(client, { settleMs: 400, ...opts });
  }
  const store = (svc, msg, extra = {}) => svc.storeMessage({ message: msg, openid: msg.FromUserName, channel: CHANNEL, threadWindowMs: 24 * HOUR, ...extra });

  it('a first message: one profile (function import first), one root activity, a ticket with the 1607 reference; the next joins the root', async () => {
    const svc = service();
    const a = await store(svc, message('oFirst', 'text', { Content: 'Hello' }));
    assert.equal(a.created, true);
    assert.equal(a.profileCreated, true);
    assert.equal(sim.social.counters.profileLookups, 1);
    assert.equal(sim.social.profiles.length, 1);
    assert.deepEqual(sim.social.profiles[0].info, [{ SocialMediaChannelCode: '905', ExternalPartyAccountID: 'WECHAT_SANDBOX', SocialMediaUserAccountID: 'oFirst', SocialMediaUserName: 'oFirst' }]);
    assert.equal(a.profileId, sim.social.profiles[0].ObjectID);
    assert.equal(a.activityUUID, a.rootActivityUUID);
    assert.equal(sim.social.tickets.length, 1);
    assert.equal(sim.social.references[0].TypeCode, '1607');
    const b = await store(svc, message('oFirst', 'text', { Content: 'Are you there?' }, NOW + 600));
    assert.equal(b.rootActivityUUID, a.rootActivityUUID);
    assert.equal(b.profileCreated, false);
    assert.equal(sim.social.tickets.length, 1, 'the second message is on the same ticket');
    assert.equal(sim.social.activities[1].ParentSocialMediaActivityUUID, a.rootActivityUUID);
    assert.equal(sim.social.counters.profileLookups, 1, 'the profile is cached');
    assert.equal(sim.social.activities[0].SocialMediaMessageID, String(msgSeq - 1n));
  });

  it('a message after the thread window starts a new root (a new ticket)', async () => {
    const svc = service();
    const a = await store(svc, message('oLate', 'text', { Content: 'one' }, NOW), { threadWindowMs: HOUR });
    const b = await store(svc, message('oLate', 'text', { Content: 'two' }, NOW + 2 * 3600), { threadWindowMs: HOUR });
    assert.notEqual(b.rootActivityUUID, a.rootActivityUUID);
    assert.equal(b.activityUUID, b.rootActivityUUID);
    assert.equal(sim.social.tickets.length, 2);
  });

  it('an existing profile is found by the function import and not created again', async () => {
    await store(service(), message('oKnown', 'text', { Content: 'x' }));
    const r = await store(service(), message('oKnown', 'text', { Content: 'y' }));
    assert.equal(r.profileCreated, false);
    assert.equal(sim.social.profiles.length, 1);
  });

  it('two instances (two clients, one shared lock and store) racing on a follower\'s first messages: one profile, messages in order, one thread', async () => {
    sim.faults.latencyMs = 15;
    const locks = new lib.MemoryLocks();
    const cache = new lib.MemoryKeyValueStore();
    const one = service({ locks, cache });
    const two = service({ locks, cache });
    const msgs = Array.from({ length: 6 }, (_, i) => message('oRace', 'text', { Content: `m${i}` }, NOW + i));
    const results = await Promise.all(msgs.map((m, i) => store(i % 2 ? two : one, m)));
    assert.equal(sim.social.profiles.length, 1);
    assert.equal(sim.social.activities.length, 6);
    assert.equal(new Set(results.map((r) => r.rootActivityUUID)).size, 1);
    assert.equal(new Set(results.map((r) => r.profileId)).size, 1);
  });

  it('a shared store: a second instance reads neither the profile nor the thread from C4C again, and finds the follower of a reply without C4C', async () => {
    const cache = new lib.MemoryKeyValueStore();
    const m = message('oCached', 'text', { Content: 'one' });
    const first = await store(service({ cache }), m);
    const before = { ...sim.social.counters };
    const other = service({ cache });
    const second = await store(other, message('oCached', 'text', { Content: 'two' }, NOW + 60));
    assert.equal(sim.social.counters.profileLookups, before.profileLookups, 'the profile came from the shared store');
    assert.equal(sim.social.counters.activityQueries, before.activityQueries, 'the thread came from the shared store');
    assert.equal(second.rootActivityUUID, first.rootActivityUUID);
    assert.equal(await service({ cache }).followerOf({ originalId: m.MsgId, ticketId: '' }, '905'), 'oCached');
    assert.equal(sim.social.counters.activityQueries, before.activityQueries, 'the reply\'s follower came from the shared store');
  });

  it('a profile deleted in C4C after it was kept (shared store): the next message gets a new profile and is stored, its media fetched once', async () => {
    const cache = new lib.MemoryKeyValueStore();
    await store(service({ cache }), message('oDeleted', 'text', { Content: 'before' }));
    sim.social.profiles.splice(0); // deleted (or merged away) in C4C; the store still holds it for a day
    let fetched = 0;
    const bytes = Buffer.from('after-bytes');
    const r = await store(service({ cache }), message('oDeleted', 'image', { MediaId: 'm9' }), { attachment: async () => { fetched++; return { bytes, mimeType: 'image/png', name: 'a.png' }; } });
    assert.equal(r.created, true);
    assert.equal(r.profileCreated, true);
    assert.equal(sim.social.profiles.length, 1);
    assert.equal(r.profileId, sim.social.profiles[0].ObjectID);
    assert.equal(sim.social.activities.length, 2);
    assert.deepEqual(Buffer.from(sim.social.activities[1].attachments[0].Binary, 'base64'), bytes);
    assert.equal(fetched, 1);
    // and the store now holds the new one: the message after needs no second try
    const next = await store(service({ cache }), message('oDeleted', 'text', { Content: 'later' }, NOW + 5));
    assert.equal(next.profileCreated, false);
    assert.equal(next.rootActivityUUID, r.rootActivityUUID);
  });

  it('one follower\'s messages are stored in the order they were sent', async () => {
    sim.faults.latencyMs = 5;
    const svc = service();
    const msgs = Array.from({ length: 8 }, (_, i) => message('oOrder', 'text', { Content: `n${i}` }, NOW + i));
    await Promise.all(msgs.map((m) => store(svc, m)));
    assert.deepEqual(sim.social.activities.map((a) => a.Text), msgs.map((m) => m.Content));
  });

  it('an ambiguous create (committed, connection dropped) is looked up by SocialMediaMessageID: no second activity', async () => {
    const svc = service();
    await store(svc, message('oDrop', 'text', { Content: 'first' }));
    sim.social.faults.dropCreates = 1;
    const r = await store(svc, message('oDrop', 'text', { Content: 'dropped' }));
    assert.equal(r.created, true);
    assert.ok(svc.stats.settleLookups >= 1, 'the outcome was looked up');
    assert.equal(sim.social.activities.filter((a) => a.Text === 'dropped').length, 1);
    assert.equal(r.activityUUID, lib.toUuid(sim.social.activities[1].ObjectID));
  });

  it('recovered work whose activity exists is not stored twice', async () => {
    const svc = service();
    const m = message('oRecovered', 'text', { Content: 'once' });
    await store(svc, m);
    const r = await store(svc, m, { recovered: true });
    assert.equal(r.created, false);
    assert.equal(sim.social.activities.length, 1);
  });

  it('an attachment goes into the same create; a note when it cannot be attached', async () => {
    const svc = service();
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    await store(svc, message('oMedia', 'image', { PicUrl: 'http://pic', MediaId: 'm1' }), { attachment: async () => ({ bytes, mimeType: 'image/png', name: 'p.png' }) });
    await store(svc, message('oMedia', 'voice', { MediaId: 'm2', Format: 'amr' }), { attachment: async () => ({ note: 'media expired (40007)' }) });
    assert.deepEqual(Buffer.from(sim.social.activities[0].attachments[0].Binary, 'base64'), bytes);
    assert.equal(sim.social.activities[1].attachments.length, 0);
    assert.equal(sim.social.activities[1].Text, '[voice]\n[media expired (40007)]');
  });

  it('the follower of an agent reply: by original_id, and by the ticket (1607) when original_id is empty', async () => {
    const svc = service();
    const m = message('oReply', 'text', { Content: 'help' });
    await store(svc, m);
    const fresh = service(); // nothing cached
    assert.equal(await fresh.followerOf({ originalId: m.MsgId, ticketId: '' }, '905'), 'oReply');
    assert.equal(await service().followerOf({ originalId: '', ticketId: sim.social.tickets[0].ID }, '905'), 'oReply');
    await assert.rejects(service().followerOf({ originalId: '1', ticketId: '999' }, '905'), { code: 'SOCIAL_UNKNOWN_FOLLOWER' });
    await assert.rejects(service().followerOf({ originalId: m.MsgId, ticketId: '' }, '008'), { code: 'SOCIAL_UNKNOWN_FOLLOWER' });
  });
});

describe('conversations: media/get (WeChatClient.getMedia, lib/wechat/media)', function () {
  this.timeout(20000);
  let sim;
  let base;
  useSimulator(() => new WeChatApiSimulator(), (s, b) => { sim = s; base = b; });
  const clients = [];
  const servers = [];
  afterEach(() => {
    while (clients.length) clients.pop().close();
    for (const s of servers.splice(0)) { s.closeAllConnections(); s.close(); }
  });
  function source() {
    const client = new lib.WeChatClient({ apiBase: base, appId: 'wx5ba5fad812f8e6fb', secret: 'sandbox-app-secret', retry: { baseMs: 5 } });
    clients.push(client);
    return client;
  }
  const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256));

  it('image bytes exactly as served, with the MIME type and file name', async () => {
    const id = sim.addMedia('wx5ba5fad812f8e6fb', 'image', bytes, 'image/jpeg', 'photo.jpg');
    const f = await source().getMedia(id, { maxBytes: 10000 });
    assert.deepEqual(f.bytes, bytes);
    assert.equal(f.mimeType, 'image/jpeg');
    assert.equal(f.name, 'photo.jpg');
  });

  it('a video through its video_url', async () => {
    const id = sim.addMedia('wx5ba5fad812f8e6fb', 'video', bytes, 'video/mp4', 'clip.mp4');
    const f = await source().getMedia(id, { maxBytes: 10000 });
    assert.deepEqual(f.bytes, bytes);
    assert.equal(f.mimeType, 'video/mp4');
  });

  it('expired media: 40007 (mediaGone); too big: MEDIA_TOO_BIG; no access_token in any message', async () => {
    const id = sim.addMedia('wx5ba5fad812f8e6fb', 'voice', bytes, 'audio/amr', 'v.amr');
    sim.expireMedia(id);
    const src = source();
    const gone = await src.getMedia(id, { maxBytes: 10000 }).catch((e) => e);
    assert.equal(lib.mediaGone(gone), true);
    const big = sim.addMedia('wx5ba5fad812f8e6fb', 'image', bytes, 'image/jpeg', 'big.jpg');
    const tooBig = await src.getMedia(big, { maxBytes: 1000 }).catch((e) => e);
    assert.equal(tooBig.code, 'MEDIA_TOO_BIG');
    const token = await src.getToken();
    for (const e of [gone, tooBig]) assert.ok(!e.message.includes(token));
  });

  it('media that stops arriving after its headers fails (ETIMEDOUT) instead of holding the follower\'s turn for ever', async () => {
    // WeChat's media server answers the headers and part of the bytes, then nothing more
    const http = require('node:http');
    const stalling = http.createServer((req, res) => {
      if (req.url.startsWith('/cgi-bin/media/get')) {
        res.writeHead(200, { 'Content-Type': 'image/jpeg' });
        res.write(bytes.subarray(0, 100));
        return;
      }
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ access_token: 'STALL_TOKEN_0123456789', expires_in: 7200 }));
    });
    await new Promise((r) => stalling.listen(0, '127.0.0.1', r));
    servers.push(stalling);
    const src = new lib.WeChatClient({ apiBase: `http://127.0.0.1:${stalling.address().port}`, appId: 'wx5ba5fad812f8e6fb', secret: 'sandbox-app-secret', timeoutMs: 300 });
    clients.push(src);
    const err = await src.getMedia('stalled', { maxBytes: 10000 }).then(() => undefined, (e) => e);
    assert.equal(err?.code, 'ETIMEDOUT');
    assert.equal(err.transient, true);
    assert.ok(!err.message.includes('STALL_TOKEN'));
  });

  it('a revoked token: one refresh and one retry', async () => {
    const src = source();
    await src.getToken();
    sim.revokeTokens();
    const id = sim.addMedia('wx5ba5fad812f8e6fb', 'image', bytes, 'image/jpeg', 'again.jpg');
    const f = await src.getMedia(id, { maxBytes: 10000 });
    assert.deepEqual(f.bytes, bytes);
    assert.equal(src.stats.tokenRetries, 1);
  });

  it('WeChat busy (-1) on media/get: tried again, as every other API, and the media arrives', async () => {
    const src = source();
    await src.getToken();
    sim.faults.busy = 1;
    const id = sim.addMedia('wx5ba5fad812f8e6fb', 'image', bytes, 'image/jpeg', 'busy.jpg');
    const f = await src.getMedia(id, { maxBytes: 10000 });
    assert.deepEqual(f.bytes, bytes);
    assert.equal(src.stats.busyRetries, 1);
  });
});
