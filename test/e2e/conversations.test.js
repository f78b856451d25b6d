'use strict';
// Issue 22 end to end: the sandbox and a Node-RED process with the bundled flow, as `npm start`
// runs them. The simulated WeChat server sends the follower's messages; the C4C simulator keeps
// profiles, activities and tickets, and posts the agent's reply to the flow's mashup endpoint
// exactly as C4C does (form content=<JSON>, Basic).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { useDemo } = require('../helpers/demo');
const { sleep, waitFor } = require('../helpers/wait');

describe('conversations end to end (sandbox + real Node-RED process)', function () {
  this.timeout(120000);
  let d;
  useDemo({ mode: 'safe' }, (x) => { d = x; });

  const social = () => d.sandbox.c4c.social;
  const activitiesOf = (openid) => {
    const profile = social().profiles.find((p) => p.info.some((i) => i.SocialMediaUserAccountID === openid));
    return profile ? social().activities.filter((a) => a.SocialMediaUserProfileUUID.replace(/-/g, '').toUpperCase() === profile.ObjectID && a.InitiatorCode === '2') : [];
  };
  const pushesTo = (openid) => d.sandbox.wechatApi.messages.filter((m) => m.touser === openid);
  const ticketOf = (openid) => social().conversations().find((t) => t.follower === openid);
  const reply = (body) => fetch(`${d.sandbox.url}/api/agent-reply`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());

  it('text, image, voice with Recognition, location and link: answered success, one activity each on one ticket, the image bytes as media/get served them', async () => {
    const openid = 'oE2EConversation000000000001';
    const image = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 13) % 256)).toString('base64');
    const reports = [];
    reports.push(await d.sandbox.act('text', { openid, content: '我的订单还没到' }));
    reports.push(await d.sandbox.act('image', { openid, base64: image, mimeType: 'image/jpeg', name: 'receipt.jpg' }));
    reports.push(await d.sandbox.act('voice', { openid, recognition: '请尽快处理' }));
    reports.push(await d.sandbox.act('location', { openid, label: '上海市徐汇区', x: '31.190', y: '121.430' }));
    reports.push(await d.sandbox.act('link', { openid, title: '订单详情', description: '订单 4711', url: 'https://shop.example.com/o/4711' }));
    for (const r of reports) assert.equal(r.body, 'success');
    const acts = await waitFor(() => activitiesOf(openid).length === 5 && activitiesOf(openid), { what: 'five activities' });
    assert.equal(acts[0].Text, '我的订单还没到');
    assert.match(acts[1].Text, /^\[image\] http/);
    assert.equal(acts[1].attachments[0].Binary, image);
    assert.equal(acts[1].attachments[0].MimeType, 'image/jpeg');
    assert.equal(acts[1].attachments[0].Name, 'receipt.jpg');
    assert.equal(acts[2].Text, '请尽快处理');
    assert.equal(acts[3].Text, '[location] 上海市徐汇区 (31.190, 121.430)');
    assert.equal(acts[4].Text, '[link] 订单详情\n订单 4711\nhttps://shop.example.com/o/4711');
    assert.ok(acts.every((a) => a.SocialMediaChannelCode === '008' && a.SocialMediaActivityProviderID === 'WECHAT_SANDBOX' && /^\d{15,20}$/.test(a.SocialMediaMessageID)));
    assert.equal(new Set(acts.map((a) => a.RootSocialMediaActivityUUID)).size, 1, 'one conversation');
    assert.equal(social().profiles.filter((p) => p.info.some((i) => i.SocialMediaUserAccountID === openid)).length, 1);
    assert.equal(d.sandbox.c4c.customers.filter((c) => c.LastName === openid).length, 0, 'messages make no customer');
  });

  it('expired media: the message is still stored, with the reason in its text', async () => {
    const openid = 'oE2EConversation000000000002';
    // WeChat no longer has the media when Node-RED asks for it (temporary media live 3 days)
    await d.sandbox.act('voice', { openid, ttlMs: 0 });
    const [a] = await waitFor(() => activitiesOf(openid).length === 1 && activitiesOf(openid), { what: 'the activity' });
    assert.equal(a.attachments.length, 0);
    assert.match(a.Text, /^\[voice\]\n\[media expired \(WeChat 40007\)/);
  });

  it('the agent reply reaches the phone; posted twice → sent once; a private note → not sent; bad credentials → 401', async () => {
    const openid = 'oE2EConversation000000000003';
    await d.sandbox.act('text', { openid, content: 'where is my parcel?' });
    const ticket = await waitFor(() => ticketOf(openid), { what: 'the ticket' });
    const first = await reply({ ticketId: ticket.ID, text: '您好，包裹明天到' });
    assert.equal(first.status, 200);
    assert.deepEqual(JSON.parse(first.body), { success: 'ok' });
    const [push] = await waitFor(() => pushesTo(openid).length === 1 && pushesTo(openid), { what: 'the push' });
    assert.equal(push.api, 'custom');
    assert.equal(push.body.text.content, '您好，包裹明天到');
    // C4C calls again with the very same body
    const thread = ticketOf(openid).thread;
    const last = thread[thread.length - 1];
    const content = { original_id: thread[0].SocialMediaMessageID, sma_id: last.ID, service_req_no: ticket.ID, author_name: 'Sandbox Agent', author_email: '', sma_create_datetime: '', private_ind: 'FALSE', text: '您好，包裹明天到' };
    const again = await social().postForm(social().mashup, `content=${encodeURIComponent(JSON.stringify(content))}`);
    assert.equal(again.status, 200);
    const note = await reply({ ticketId: ticket.ID, text: 'internal: parcel lost?', private: true });
    assert.equal(note.status, 200);
    const wrong = await social().postForm({ ...social().mashup, password: 'wrong' }, `content=${encodeURIComponent(JSON.stringify({ ...content, sma_id: '1', text: 'forged' }))}`);
    assert.equal(wrong.status, 401);
    await sleep(1000);
    assert.equal(pushesTo(openid).length, 1, 'once, nothing for the note or the forged call');
  });

  it('a reply whose send failed (WeChat unreachable) reaches the phone when C4C repeats the call, once (the runtime\'s onComplete hook, the bundled flow\'s node ids)', async () => {
    const openid = 'oE2EConversation000000000005';
    await d.sandbox.act('text', { openid, content: 'anyone there?' });
    const ticket = await waitFor(() => ticketOf(openid), { what: 'the ticket' });
    const deadLetters = () => (fs.existsSync(d.deadLetterFile) ? fs.readFileSync(d.deadLetterFile, 'utf8') : '');
    d.sandbox.wechatApi.faults.outageUntil = Date.now() + 120000;
    const first = await reply({ ticketId: ticket.ID, text: 'sorry, here it is' });
    assert.equal(first.status, 200);
    await waitFor(() => deadLetters().includes(openid), { timeoutMs: 60000, what: 'the failed send dead-lettered' });
    d.sandbox.wechatApi.faults.outageUntil = 0;
    assert.equal(pushesTo(openid).length, 0);
    // C4C calls again with the very same body (the same sma_id)
    const thread = ticketOf(openid).thread;
    const last = thread[thread.length - 1];
    const content = { original_id: thread[0].SocialMediaMessageID, sma_id: last.ID, service_req_no: ticket.ID, author_name: 'Sandbox Agent', author_email: '', sma_create_datetime: '', private_ind: 'FALSE', text: 'sorry, here it is' };
    const form = `content=${encodeURIComponent(JSON.stringify(content))}`;
    assert.equal((await social().postForm(social().mashup, form)).status, 200);
    await waitFor(() => pushesTo(openid).length === 1, { what: 'the repeat sent' });
    assert.equal((await social().postForm(social().mashup, form)).status, 200);
    await sleep(1000);
    assert.equal(pushesTo(openid).length, 1, 'sent once');
  });

  it('outside the 48-hour window the reply goes as the template message', async () => {
    const openid = 'oE2EConversation000000000004';
    await d.sandbox.act('text', { openid, content: 'hello' });
    const ticket = await waitFor(() => ticketOf(openid), { what: 'the ticket' });
    d.sandbox.wechatApi.followers.get(`${d.sandbox.opts.appId}/${openid}`).windowStart = Date.now() - 49 * 3600 * 1000;
    await reply({ ticketId: ticket.ID, text: 'sorry for the wait' });
    const [push] = await waitFor(() => pushesTo(openid).length === 1 && pushesTo(openid), { what: 'the template' });
    assert.equal(push.api, 'template');
    assert.equal(push.body.data.character_string1.value, ticket.ID);
  });
});
