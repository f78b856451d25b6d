/* The sandbox page's agent console (issue 22): C4C tickets made from the follower's messages,
 * each with its thread (media shown), and a reply box that makes the C4C simulator call the flow's
 * mashup endpoint exactly as C4C does (form content=<JSON>, Basic), with a private-note toggle.
 * Also the phone's media buttons (image, voice, location, link). Both languages, as app.js. */
(function () {
  'use strict';
  var T = {
    zh: {
      agent: 'C4C 坐席控制台', noTickets: '还没有工单。在手机上发一条消息试试。', ticket: '工单', follower: '粉丝',
      replyPh: '回复粉丝…', privateNote: '内部备注（不发给粉丝）', send: '回复', sent: 'C4C → mashup：HTTP {status}',
      agentSays: '坐席', note: '备注', image: '图片', voice: '语音', location: '位置', link: '链接', failed: '失败：{error}'
    },
    en: {
      agent: 'C4C agent console', noTickets: 'No tickets yet. Send a message from the phone.', ticket: 'Ticket', follower: 'Follower',
      replyPh: 'Reply to the follower…', privateNote: 'private note (not sent to the follower)', send: 'Reply', sent: 'C4C → mashup: HTTP {status}',
      agentSays: 'agent', note: 'note', image: 'Image', voice: 'Voice', location: 'Location', link: 'Link', failed: 'failed: {error}'
    }
  };
  function lang() { return localStorage.getItem('sandbox-lang') || (navigator.language && navigator.language.indexOf('zh') === 0 ? 'zh' : 'en'); }
  function t(key, subs) {
    var text = (T[lang()] && T[lang()][key]) || key;
    return text.replace(/\{(\w+)\}/g, function (m, k) { return subs && subs[k] !== undefined ? subs[k] : m; });
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function post(path, body) {
    return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body || {}) }).then(function (r) { return r.json(); });
  }
  var tickets = [];
  var drafts = {}; // ticket ID → {text, private}: kept across redraws

  var panel = el('div', 'panel agent');
  panel.id = 'agentConsole';
  var title = el('h2');
  var list = el('div', 'tickets');
  var empty = el('p', 'empty');
  panel.appendChild(title);
  panel.appendChild(list);
  panel.appendChild(empty);
  var side = document.querySelector('.side');
  side.insertBefore(panel, side.children[1] || null);

  function attachment(a) {
    var src = 'data:' + a.MimeType + ';base64,' + a.Binary;
    if (/^image\//.test(a.MimeType)) { var img = el('img', 'media'); img.src = src; img.alt = a.Name; return img; }
    if (/^(audio|video)\//.test(a.MimeType)) { var link = el('a', 'media', '📎 ' + a.Name); link.href = src; link.download = a.Name; return link; }
    return el('span', 'media', '📎 ' + a.Name);
  }
  function drawTicket(tk) {
    var box = el('article', 'ticket');
    box.setAttribute('data-ticket', tk.ID);
    var head = el('div', 'ticket-head');
    head.appendChild(el('strong', null, t('ticket') + ' ' + tk.ID));
    head.appendChild(el('code', null, tk.follower));
    box.appendChild(head);
    var thread = el('ol', 'thread');
    tk.thread.forEach(function (a) {
      var agent = a.InitiatorCode !== '2';
      var li = el('li', agent ? (a.private ? 'agent private' : 'agent') : 'customer');
      if (agent) li.appendChild(el('span', 'tag', a.private ? t('note') : t('agentSays')));
      li.appendChild(el('span', 'text', a.Text));
      (a.attachments || []).forEach(function (x) { li.appendChild(attachment(x)); });
      thread.appendChild(li);
    });
    box.appendChild(thread);
    var form = el('form', 'reply');
    var draft = drafts[tk.ID] || { text: '', private: false };
    var input = el('textarea');
    input.rows = 2;
    input.placeholder = t('replyPh');
    input.value = draft.text;
    input.addEventListener('input', function () { draft.text = input.value; drafts[tk.ID] = draft; });
    var label = el('label', 'private-toggle');
    var box2 = el('input');
    box2.type = 'checkbox';
    box2.checked = draft.private;
    box2.addEventListener('change', function () { draft.private = box2.checked; drafts[tk.ID] = draft; });
    label.appendChild(box2);
    label.appendChild(document.createTextNode(' ' + t('privateNote')));
    var send = el('button', 'primary', t('send'));
    send.type = 'submit';
    var result = el('span', 'result');
    form.appendChild(input);
    form.appendChild(label);
    form.appendChild(send);
    form.appendChild(result);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (!input.value.trim()) return;
      send.disabled = true;
      post('/api/agent-reply', { ticketId: tk.ID, text: input.value, private: box2.checked }).then(function (r) {
        drafts[tk.ID] = { text: '', private: false };
        result.textContent = r.status ? t('sent', { status: r.status }) : t('failed', { error: r.error });
      }, function (err) { result.textContent = t('failed', { error: String(err) }); }).then(function () { send.disabled = false; });
    });
    box.appendChild(form);
    return box;
  }
  function render() {
    title.textContent = t('agent');
    empty.textContent = t('noTickets');
    empty.style.display = tickets.length ? 'none' : '';
    list.innerHTML = '';
    tickets.forEach(function (tk) { list.appendChild(drawTicket(tk)); });
    document.querySelectorAll('[data-media]').forEach(function (b) { b.textContent = t(b.getAttribute('data-media')); });
  }
  function refresh() {
    return fetch('/api/state').then(function (r) { return r.json(); }).then(function (s) { tickets = s.conversations || []; render(); });
  }

  // The phone's media buttons: WeChat sends what a follower shares; the bubble shows what was sent.
  var row = el('div', 'phone-media');
  ['image', 'voice', 'location', 'link'].forEach(function (kind) {
    var b = el('button');
    b.type = 'button';
    b.setAttribute('data-media', kind);
    b.addEventListener('click', function () {
      var phone = window.sandboxPhone;
      if (phone) phone.bubble('me', '[' + t(kind) + ']');
      (phone ? phone.act(kind, {}) : post('/api/' + kind, { openid: sessionStorage.getItem('sandbox-openid') }));
    });
    row.appendChild(b);
  });
  var actions = document.querySelector('.phone-actions');
  if (actions) actions.parentNode.insertBefore(row, actions.nextSibling);

  document.getElementById('lang').addEventListener('click', function () { setTimeout(render, 0); });
  var events = new EventSource('/api/events');
  var pending;
  events.onmessage = function (m) {
    var e = JSON.parse(m.data);
    if (e.type !== 'conversation' || pending) return;
    pending = setTimeout(function () { pending = undefined; refresh(); }, 150);
  };
  refresh();
})();
