/* The sandbox page: a phone-style chat, the C4C customer list and a live event log (SSE). */
(function () {
  'use strict';
  var T = {
    zh: {
      title: 'WeChat × SAP C4C 沙箱', mode: '消息模式', safe: '安全模式', compatible: '兼容模式', plain: '明文模式', account: '公众号 · Sandbox',
      follower: '粉丝', newFollower: '换一个粉丝', follow: '关注', unfollow: '取消关注', sendBtn: '发送', placeholder: '发消息',
      customers: 'C4C 个人客户', created: '创建时间', noCustomers: '还没有客户。点“关注”试试。', log: '事件日志',
      youFollowed: '你关注了公众号', youUnfollowed: '你取消了关注', reply: '被动回复', push: '客服消息', noReply: '（公众号没有回复）',
      checksOk: '回复检查通过', checksBad: '回复检查失败', lang: 'EN',
      unavailable: '该公众号暂时无法提供服务，请稍后再试', customerCreated: 'C4C：已为 {openid} 创建客户 {id}',
      pushTo: '客服消息 → {openid}：{text}', newToken: 'WeChat API：新的 access_token', webhook: 'WeChat → Webhook：{what}，来自 {openid}',
      errcode: 'WeChat API 返回错误码 {code}', csMessage: 'WeChat API：发给 {openid} 的客服消息', tplMessage: 'WeChat API：发给 {openid} 的模板消息',
      subMessage: 'WeChat API：发给 {openid} 的订阅通知', c4cRequest: 'C4C：{what}', c4cInjected: 'C4C：注入的故障 {what}',
      'c4c:csrf fetch': '获取 CSRF 令牌', 'c4c:service document': '读取服务文档', 'c4c:metadata': '读取 $metadata', metadataSubset: 'C4C：读取 $metadata（只含 {types}）', 'c4c:metadata: 400': '$metadata 参数被拒（400）', 'c4c:get entity': '读取实体',
      'c4c:create': '创建个人客户', 'c4c:$batch': '$batch 批量请求', 'c4c:query': '查询个人客户', 'c4c:query identification': '按证件查询',
      'c4c:401': '401 用户或密码错误', 'c4c:403 csrf': '403 需要 CSRF 令牌', 'c4c:create: commit, then drop': '创建：已提交，但连接断开', 'c4c:create: commit, answer late': '创建：已提交，迟迟才应答',
      'c4c:social read GetSocialMediaUserProfile': '查找社交媒体用户档案', 'c4c:social create SocialMediaUserProfileCollection': '创建社交媒体用户档案', 'c4c:social read SocialMediaUserProfileCollection': '读取社交媒体用户档案',
      'c4c:social create SocialMediaActivityCollection': '创建社交媒体活动', 'c4c:social read SocialMediaActivityCollection': '查询社交媒体活动', 'c4c:social read ServiceRequestCollection': '查询工单',
      'c4c:social read ServiceRequestBusinessTransactionDocumentReferenceCollection': '查询工单的单据引用', mashupCall: 'C4C → mashup：回复工单 {ticket}{note}，应答 HTTP {status}', privateNote: '（内部备注）',
      modeSwitched: '消息加解密方式 → {mode}：Node-RED 的 wechat-config 也要改成 {mode}（WECHAT_MESSAGE_MODE），否则消息会被拒绝',
      edit: '编辑', editTitle: '在 C4C 中编辑客户', save: '保存', cancel: '取消', email: '电子邮件', phone: '电话',
      eventShape: 'C4C 变更事件格式', shapeEvent: 'Event Notification', shapeCloud: 'Event Notification（CloudEvents）', shapeFeed: 'OData feed 通知（旧）',
      customerEdited: 'C4C：客户 {id} 已修改（{fields}）', eventSent: 'C4C 事件 → Node-RED：{what}，应答 {status}', eventsOff: '（未配置事件接收地址）', eventFailed: 'C4C 事件 → Node-RED：{what} 发送失败（{error}）'
    },
    en: {
      title: 'WeChat × SAP C4C sandbox', mode: 'Message mode', safe: 'Safe mode', compatible: 'Compatible mode', plain: 'Plaintext', account: 'Official Account · Sandbox',
      follower: 'Follower', newFollower: 'new follower', follow: 'Follow', unfollow: 'Unfollow', sendBtn: 'Send', placeholder: 'Message',
      customers: 'C4C individual customers', created: 'Created', noCustomers: 'No customers yet. Tap Follow.', log: 'Event log',
      youFollowed: 'You followed the account', youUnfollowed: 'You unfollowed', reply: 'reply', push: 'customer-service message', noReply: '(no reply from the account)',
      checksOk: 'reply checks passed', checksBad: 'reply checks failed', lang: '中文',
      unavailable: 'This account cannot serve you right now; try again later', customerCreated: 'C4C: customer {id} created for {openid}',
      pushTo: 'push → {openid}: {text}', newToken: 'WeChat API: new access token', webhook: 'WeChat → webhook: {what} from {openid}',
      errcode: 'WeChat API errcode {code}', csMessage: 'WeChat API: customer-service message to {openid}', tplMessage: 'WeChat API: template message to {openid}',
      subMessage: 'WeChat API: subscription notice to {openid}', c4cRequest: 'C4C {what}', c4cInjected: 'C4C: injected fault {what}',
      'c4c:csrf fetch': 'CSRF token fetch', 'c4c:service document': 'service document', 'c4c:metadata': '$metadata', metadataSubset: 'C4C $metadata (only {types})', 'c4c:metadata: 400': '$metadata option refused (400)', 'c4c:get entity': 'read an entity',
      'c4c:create': 'create an individual customer', 'c4c:$batch': '$batch', 'c4c:query': 'query individual customers', 'c4c:query identification': 'query by identification',
      'c4c:401': '401 wrong user or password', 'c4c:403 csrf': '403 CSRF token required', 'c4c:create: commit, then drop': 'create: committed, then the connection dropped', 'c4c:create: commit, answer late': 'create: committed, answered late',
      'c4c:social read GetSocialMediaUserProfile': 'find a social media user profile', 'c4c:social create SocialMediaUserProfileCollection': 'create a social media user profile', 'c4c:social read SocialMediaUserProfileCollection': 'read a social media user profile',
      'c4c:social create SocialMediaActivityCollection': 'create a social media activity', 'c4c:social read SocialMediaActivityCollection': 'query social media activities', 'c4c:social read ServiceRequestCollection': 'query tickets',
      'c4c:social read ServiceRequestBusinessTransactionDocumentReferenceCollection': 'query ticket document references', mashupCall: 'C4C → mashup: reply to ticket {ticket}{note} → HTTP {status}', privateNote: ' (private note)',
      modeSwitched: 'message mode → {mode}: set wechat-config\'s Message mode (WECHAT_MESSAGE_MODE) to {mode} too, or the messages are refused',
      edit: 'Edit', editTitle: 'Edit the customer in C4C', save: 'Save', cancel: 'Cancel', email: 'E-mail', phone: 'Phone',
      eventShape: 'C4C change events as', shapeEvent: 'Event Notification', shapeCloud: 'Event Notification (CloudEvents)', shapeFeed: 'OData feed notification (old)',
      customerEdited: 'C4C: customer {id} edited ({fields})', eventSent: 'C4C event → Node-RED: {what}, answered {status}', eventsOff: '(no event endpoint configured)', eventFailed: 'C4C event → Node-RED: {what} failed ({error})'
    }
  };
  var lang = localStorage.getItem('sandbox-lang') || (navigator.language && navigator.language.indexOf('zh') === 0 ? 'zh' : 'en');
  var openid = sessionStorage.getItem('sandbox-openid') || newOpenId();
  sessionStorage.setItem('sandbox-openid', openid);
  var seenCustomers = {};
  var customers = {}; // ObjectID → the customer as last seen
  var editing = null;

  function $(id) { return document.getElementById(id); }
  function t(key, subs) {
    var text = (T[lang] && T[lang][key]) || key;
    return text.replace(/\{(\w+)\}/g, function (m, k) {
      if (!subs || subs[k] === undefined) return m;
      return subs[k] && typeof subs[k] === 'object' && subs[k].key ? t(subs[k].key) : subs[k];
    });
  }
  // The page is drawn from this state, so a language switch re-renders everything (bubbles, log).
  // A log entry keeps the time it happened (the server's `at`), also across reloads.
  var chat = [];   // {kind, key?, text?, tag?}
  var log = [];    // {at, cls, key?, subs?, text?}
  var MAX_LOG = 200;
  // The sandbox server's log lines are English; the ones the page knows are shown translated.
  var KNOWN = [
    [/^WeChat API: new access token/, function () { return { key: 'newToken' }; }],
    [/^WeChat → webhook: (\S+) from (\S+)/, function (m) { return { key: 'webhook', subs: { what: m[1], openid: m[2] } }; }],
    [/^WeChat API errcode (-?\d+)/, function (m) { return { key: 'errcode', subs: { code: m[1] } }; }],
    [/^WeChat API: customer-service message to (\S+)/, function (m) { return { key: 'csMessage', subs: { openid: m[1] } }; }],
    [/^WeChat API: template message to (\S+)/, function (m) { return { key: 'tplMessage', subs: { openid: m[1] } }; }],
    [/^C4C event → \S+: (.+) \((\w+)\) (\d+)$/, function (m) { return { key: 'eventSent', subs: { what: m[1] + ' (' + m[2] + ')', status: m[3] } }; }],
    [/^C4C event → \S+: (.+) failed \((.*)\)$/, function (m) { return { key: 'eventFailed', subs: { what: m[1], error: m[2] } }; }],
    [/^WeChat API: subscription notice to (\S+)/, function (m) { return { key: 'subMessage', subs: { openid: m[1] } }; }],
    [/^C4C → mashup: reply to ticket (\S+)( \(private note\))? → HTTP (\d+)/, function (m) { return { key: 'mashupCall', subs: { ticket: m[1], note: m[2] ? { key: 'privateNote' } : '', status: m[3] } }; }],
    [/^C4C metadata \$filter=(.+)$/, function (m) { return { key: 'metadataSubset', subs: { types: m[1] } }; }],
    [/^C4C injected (.+)$/, function (m) { return { key: 'c4cInjected', subs: { what: m[1] } }; }],
    [/^C4C (.+)$/, function (m) { return T.en['c4c:' + m[1]] ? { key: 'c4cRequest', subs: { what: { key: 'c4c:' + m[1] } } } : { text: m[0] }; }],
    [/^消息加解密方式 → (\w+)：/, function (m) { return { key: 'modeSwitched', subs: { mode: m[1] } }; }]
  ];
  function fromServer(text) {
    for (var i = 0; i < KNOWN.length; i++) {
      var m = KNOWN[i][0].exec(text);
      if (m) return KNOWN[i][1](m);
    }
    return { text: text };
  }
  function newOpenId() {
    var chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    var s = 'o';
    var r = new Uint8Array(27);
    crypto.getRandomValues(r);
    for (var i = 0; i < 27; i++) s += chars[r[i] % 64];
    return s;
  }
  function applyLang() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.querySelectorAll('[data-t]').forEach(function (el) { el.textContent = t(el.getAttribute('data-t')); });
    document.querySelectorAll('[data-tl]').forEach(function (el) { el.firstChild.textContent = t(el.getAttribute('data-tl')) + ' '; });
    $('text').placeholder = t('placeholder');
    $('lang').textContent = t('lang');
    renderChat();
    renderLog();
    renderCustomerTimes();
  }
  function clock(at) { return new Date(at).toLocaleTimeString(lang === 'zh' ? 'zh-CN' : 'en-GB'); }
  function drawBubble(b) {
    var div = document.createElement('div');
    div.className = 'bubble ' + b.kind;
    if (b.tag) {
      var span = document.createElement('span');
      span.className = 'tag';
      span.textContent = t(b.tag);
      div.appendChild(span);
    }
    div.appendChild(document.createTextNode(b.key ? t(b.key) : b.text));
    return div;
  }
  function renderChat() {
    var el = $('chat');
    el.innerHTML = '';
    chat.forEach(function (b) { el.appendChild(drawBubble(b)); });
    el.scrollTop = el.scrollHeight;
  }
  /**
   * kind: CSS classes; either key (translated) or text (the account's own words, as sent). `at`:
   * when it reached (simulated) WeChat — the passive reply when its HTTP answer came back, a push
   * when the API got it: bubbles stand in that order, whichever event the page heard first.
   */
  function bubble(kind, text, tag, key, at) {
    // The page's own bubbles (what you did) go last: the browser's clock is not the sandbox's.
    var b = { kind: kind, text: text, tag: tag, key: key, at: at !== undefined ? at : (chat.length ? chat[chat.length - 1].at : 0) };
    var i = chat.length;
    while (i > 0 && chat[i - 1].at > b.at) i--;
    chat.splice(i, 0, b);
    var el = $('chat');
    el.insertBefore(drawBubble(b), el.children[i] || null);
    el.scrollTop = el.scrollHeight;
  }
  function drawLog(e) {
    var li = document.createElement('li');
    var time = document.createElement('time');
    time.dateTime = new Date(e.at).toISOString();
    time.textContent = clock(e.at);
    li.appendChild(time);
    li.appendChild(document.createTextNode('  ' + (e.key ? t(e.key, e.subs) : e.text) + (e.suffix ? ' — ' + e.suffix : '')));
    if (e.cls) li.className = e.cls;
    return li;
  }
  function renderLog() {
    var el = $('log');
    el.innerHTML = '';
    log.forEach(function (e) { el.appendChild(drawLog(e)); });
    el.scrollTop = el.scrollHeight;
  }
  function logLine(entry, at, cls) {
    var e = Object.assign({ at: at || Date.now(), cls: cls }, entry);
    log.push(e);
    if (log.length > MAX_LOG) { log.shift(); $('log').removeChild($('log').firstChild); }
    $('log').appendChild(drawLog(e));
    $('log').scrollTop = $('log').scrollHeight;
  }
  function renderCustomerTimes() {
    document.querySelectorAll('#customers time').forEach(function (el) { el.textContent = clock(Number(el.getAttribute('data-at'))); });
  }
  function openEdit(objectId) {
    var c = customers[objectId];
    if (!c) return;
    editing = objectId;
    $('editId').textContent = c.CustomerID;
    $('editFirstName').value = c.FirstName || '';
    $('editLastName').value = c.LastName || '';
    $('editEmail').value = c.Email || '';
    $('editPhone').value = c.Phone || '';
    $('edit').hidden = false;
  }
  function updateCustomer(c) {
    customers[c.ObjectID] = c;
    var tr = $('customers').querySelector('tr[data-object-id="' + c.ObjectID + '"]');
    if (!tr) return;
    tr.children[1].textContent = c.FirstName || '';
    tr.children[2].firstChild.textContent = c.LastName || '';
    tr.className = '';
    void tr.offsetWidth;
    tr.className = 'new';
  }
  function addCustomer(c) {
    customers[c.ObjectID] = c;
    if (seenCustomers[c.ObjectID]) return;
    seenCustomers[c.ObjectID] = true;
    var tr = document.createElement('tr');
    tr.className = 'new';
    tr.setAttribute('data-customer-id', c.CustomerID);
    tr.setAttribute('data-object-id', c.ObjectID);
    var created = /\/Date\((\d+)\)\//.exec(c.CreationOn || '');
    [c.CustomerID, c.FirstName || '', c.LastName || '', created ? Number(created[1]) : ''].forEach(function (v, i) {
      var td = document.createElement('td');
      if (i === 2) { var code = document.createElement('code'); code.textContent = v; td.appendChild(code); }
      else if (i === 3 && v) { var time = document.createElement('time'); time.setAttribute('data-at', v); time.textContent = clock(v); td.appendChild(time); }
      else td.textContent = v;
      tr.appendChild(td);
    });
    var action = document.createElement('td');
    var editButton = document.createElement('button');
    editButton.type = 'button';
    editButton.className = 'link';
    editButton.setAttribute('data-t', 'edit');
    editButton.textContent = t('edit');
    editButton.addEventListener('click', function () { openEdit(c.ObjectID); });
    action.appendChild(editButton);
    tr.appendChild(action);
    $('customers').querySelector('tbody').appendChild(tr);
    $('noCustomers').style.display = 'none';
  }
  function post(path, body) {
    return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body || {}) }).then(function (r) { return r.json(); });
  }
  function showReport(report) {
    if (report.openid !== openid) return;
    if (report.failed) {
      if (report.shown) bubble('error', report.shown, null, null, report.at); else bubble('error', '', null, 'unavailable', report.at);
    } else if (report.shown) {
      bubble('from-account', report.shown, 'reply', null, report.at);
    }
    var bad = report.checks.filter(function (c) { return !c.ok; });
    var detail = report.checks.map(function (c) { return (c.ok ? '✓ ' : '✗ ') + c.name; }).join(', ');
    logLine({ key: bad.length ? 'checksBad' : 'checksOk', suffix: detail }, Date.now(), bad.length ? 'bad' : 'ok');
  }
  function act(action, body) {
    var buttons = document.querySelectorAll('button');
    buttons.forEach(function (b) { b.disabled = true; });
    return post('/api/' + action, Object.assign({ openid: openid }, body || {})).then(showReport).catch(function (err) {
      bubble('error', String(err));
    }).then(function () { buttons.forEach(function (b) { b.disabled = false; }); });
  }

  // agent.js (the agent console and the phone's media buttons) shows its sends in this chat
  window.sandboxPhone = { bubble: bubble, act: act };
  $('openid').textContent = openid;
  $('follow').addEventListener('click', function () { bubble('system', '', null, 'youFollowed'); act('follow'); });
  $('unfollow').addEventListener('click', function () { bubble('system', '', null, 'youUnfollowed'); act('unfollow'); });
  $('send').addEventListener('submit', function (e) {
    e.preventDefault();
    var text = $('text').value;
    if (!text) return;
    $('text').value = '';
    bubble('me', text);
    act('text', { content: text });
  });
  $('newFollower').addEventListener('click', function () {
    openid = newOpenId();
    sessionStorage.setItem('sandbox-openid', openid);
    $('openid').textContent = openid;
    chat = [];
    renderChat();
  });
  $('lang').addEventListener('click', function () {
    lang = lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('sandbox-lang', lang);
    applyLang();
  });
  $('mode').addEventListener('change', function () { post('/api/mode', { mode: $('mode').value }); });
  $('eventShape').addEventListener('change', function () { post('/api/c4c/event-shape', { shape: $('eventShape').value }); });
  $('editCancel').addEventListener('click', function () { editing = null; $('edit').hidden = true; });
  $('edit').addEventListener('submit', function (e) {
    e.preventDefault();
    if (!editing) return;
    var fields = { FirstName: $('editFirstName').value, LastName: $('editLastName').value, Email: $('editEmail').value, Phone: $('editPhone').value };
    post('/api/c4c/update', { objectId: editing, fields: fields }).then(function () { editing = null; $('edit').hidden = true; });
  });
  function showEvents(config) {
    if (!config) return;
    $('eventShape').value = config.shape;
    $('eventEndpoint').textContent = config.endpoint || t('eventsOff');
  }

  fetch('/api/state').then(function (r) { return r.json(); }).then(function (state) {
    $('mode').value = state.config.mode;
    showEvents(state.config.events);
    state.customers.forEach(addCustomer);
    // earlier lines with the time they happened, not the time of this reload
    var earlier = state.log.slice(-30).filter(function (e) { return e.type === 'log'; }).map(function (e) { return Object.assign({ at: e.at }, fromServer(e.text)); });
    log = earlier.concat(log).slice(-MAX_LOG);
    renderLog();
  });
  var events = new EventSource('/api/events');
  events.onmessage = function (m) {
    var e = JSON.parse(m.data);
    if (e.type === 'customer') { addCustomer(e.customer); logLine({ key: 'customerCreated', subs: { id: e.customer.CustomerID, openid: e.customer.LastName } }, e.at, 'ok'); }
    else if (e.type === 'push') { if (e.openid === openid) bubble('from-account push', e.text, 'push', null, e.at); logLine({ key: 'pushTo', subs: { openid: e.openid, text: e.text } }, e.at); }
    else if (e.type === 'log') logLine(fromServer(e.text), e.at);
    else if (e.type === 'mode') $('mode').value = e.mode;
    else if (e.type === 'customer-updated') { updateCustomer(e.customer); logLine({ key: 'customerEdited', subs: { id: e.customer.CustomerID, fields: e.fields.join(', ') } }, e.at, 'ok'); }
    else if (e.type === 'event-shape') $('eventShape').value = e.shape;
  };
  applyLang();
})();
