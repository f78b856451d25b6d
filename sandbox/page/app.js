/* The sandbox page: a phone-style chat, the C4C customer list and a live event log (SSE). */
(function () {
  'use strict';
  var T = {
    zh: {
      title: 'WeChat × SAP C4C 沙箱', mode: '消息模式', safe: '安全模式', plain: '明文模式', account: '公众号 · Sandbox',
      follower: '粉丝', newFollower: '换一个粉丝', follow: '关注', unfollow: '取消关注', sendBtn: '发送', placeholder: '发消息',
      customers: 'C4C 个人客户', created: '创建时间', noCustomers: '还没有客户。点“关注”试试。', log: '事件日志',
      youFollowed: '你关注了公众号', youUnfollowed: '你取消了关注', reply: '被动回复', push: '客服消息', noReply: '（公众号没有回复）',
      checksOk: '回复检查通过', checksBad: '回复检查失败', lang: 'EN'
    },
    en: {
      title: 'WeChat × SAP C4C sandbox', mode: 'Message mode', safe: 'Safe mode', plain: 'Plaintext', account: 'Official Account · Sandbox',
      follower: 'Follower', newFollower: 'new follower', follow: 'Follow', unfollow: 'Unfollow', sendBtn: 'Send', placeholder: 'Message',
      customers: 'C4C individual customers', created: 'Created', noCustomers: 'No customers yet. Tap Follow.', log: 'Event log',
      youFollowed: 'You followed the account', youUnfollowed: 'You unfollowed', reply: 'reply', push: 'customer-service message', noReply: '(no reply from the account)',
      checksOk: 'reply checks passed', checksBad: 'reply checks failed', lang: '中文'
    }
  };
  var lang = localStorage.getItem('sandbox-lang') || (navigator.language && navigator.language.indexOf('zh') === 0 ? 'zh' : 'en');
  var openid = sessionStorage.getItem('sandbox-openid') || newOpenId();
  sessionStorage.setItem('sandbox-openid', openid);
  var seenCustomers = {};

  function $(id) { return document.getElementById(id); }
  function t(key) { return (T[lang] && T[lang][key]) || key; }
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
    $('text').placeholder = t('placeholder');
    $('lang').textContent = t('lang');
  }
  function bubble(kind, text, tag) {
    var div = document.createElement('div');
    div.className = 'bubble ' + kind;
    if (tag) {
      var span = document.createElement('span');
      span.className = 'tag';
      span.textContent = tag;
      div.appendChild(span);
    }
    div.appendChild(document.createTextNode(text));
    $('chat').appendChild(div);
    $('chat').scrollTop = $('chat').scrollHeight;
    return div;
  }
  function logLine(text, cls) {
    var li = document.createElement('li');
    li.textContent = new Date().toLocaleTimeString() + '  ' + text;
    if (cls) li.className = cls;
    $('log').appendChild(li);
    $('log').scrollTop = $('log').scrollHeight;
  }
  function addCustomer(c) {
    if (seenCustomers[c.ObjectID]) return;
    seenCustomers[c.ObjectID] = true;
    var tr = document.createElement('tr');
    tr.className = 'new';
    tr.setAttribute('data-customer-id', c.CustomerID);
    var created = /\/Date\((\d+)\)\//.exec(c.CreationOn || '');
    [c.CustomerID, c.FirstName || '', c.LastName || '', created ? new Date(Number(created[1])).toLocaleTimeString() : ''].forEach(function (v, i) {
      var td = document.createElement('td');
      if (i === 2) { var code = document.createElement('code'); code.textContent = v; td.appendChild(code); } else td.textContent = v;
      tr.appendChild(td);
    });
    $('customers').querySelector('tbody').appendChild(tr);
    $('noCustomers').style.display = 'none';
  }
  function post(path, body) {
    return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body || {}) }).then(function (r) { return r.json(); });
  }
  function showReport(report) {
    if (report.openid !== openid) return;
    if (report.failed) {
      bubble('error', report.shown || '该公众号暂时无法提供服务，请稍后再试');
    } else if (report.shown) {
      bubble('from-account', report.shown, t('reply'));
    }
    var bad = report.checks.filter(function (c) { return !c.ok; });
    logLine((bad.length ? t('checksBad') : t('checksOk')) + ' — ' + report.checks.map(function (c) { return (c.ok ? '✓ ' : '✗ ') + c.name; }).join(', '), bad.length ? 'bad' : 'ok');
  }
  function act(action, body) {
    var buttons = document.querySelectorAll('button');
    buttons.forEach(function (b) { b.disabled = true; });
    return post('/api/' + action, Object.assign({ openid: openid }, body || {})).then(showReport).catch(function (err) {
      bubble('error', String(err));
    }).then(function () { buttons.forEach(function (b) { b.disabled = false; }); });
  }

  $('openid').textContent = openid;
  $('follow').addEventListener('click', function () { bubble('system', t('youFollowed')); act('follow'); });
  $('unfollow').addEventListener('click', function () { bubble('system', t('youUnfollowed')); act('unfollow'); });
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
    $('chat').innerHTML = '';
  });
  $('lang').addEventListener('click', function () {
    lang = lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('sandbox-lang', lang);
    applyLang();
  });
  $('mode').addEventListener('change', function () { post('/api/mode', { mode: $('mode').value }); });

  fetch('/api/state').then(function (r) { return r.json(); }).then(function (state) {
    $('mode').value = state.config.mode;
    state.customers.forEach(addCustomer);
    state.log.slice(-30).forEach(function (e) { if (e.type === 'log') logLine(e.text); });
  });
  var events = new EventSource('/api/events');
  events.onmessage = function (m) {
    var e = JSON.parse(m.data);
    if (e.type === 'customer') { addCustomer(e.customer); logLine('C4C: customer ' + e.customer.CustomerID + ' created for ' + e.customer.LastName, 'ok'); }
    else if (e.type === 'push') { if (e.openid === openid) bubble('from-account push', e.text, t('push')); logLine('push → ' + e.openid + ': ' + e.text); }
    else if (e.type === 'log') logLine(e.text);
    else if (e.type === 'mode') $('mode').value = e.mode;
  };
  applyLang();
})();
