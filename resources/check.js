/*
 * The editor's "Test connection" button, shared by the wechat-config and c4c-config dialogs
 * (Node-RED serves this folder at resources/node-red-contrib-wechat-c4c/). The admin endpoint
 * answers {ok, code, message, hint} in the editor's language (nodes/shared/check.ts).
 */
(function () {
  var STYLE = '.wechat-c4c-check-result { white-space: normal; overflow-wrap: anywhere; }' +
    '.wechat-c4c-check-ok { color: var(--red-ui-text-color-success, #4a7d2f); }' +
    '.wechat-c4c-check-failed { color: var(--red-ui-text-color-error, #c00); }' +
    '.wechat-c4c-check-hint { margin-top: 6px; color: var(--red-ui-primary-text-color, #555); }';
  if (!document.getElementById('wechat-c4c-check-style')) $('<style id="wechat-c4c-check-style">').text(STYLE).appendTo('head');

  /** opts: button and result selectors, the endpoint url, t (the dialog's catalog), body() the values to check. */
  window.wechatC4CCheck = function (opts) {
    var $result = $(opts.result);
    $(opts.button).on('click', function (e) {
      e.preventDefault();
      var $btn = $(this).prop('disabled', true);
      $result.removeClass('wechat-c4c-check-ok wechat-c4c-check-failed').text(opts.t('check.running'));
      $.ajax({ url: opts.url, method: 'POST', contentType: 'application/json', dataType: 'json', data: JSON.stringify(opts.body()) })
        .done(function (r) {
          $result.addClass(r.ok ? 'wechat-c4c-check-ok' : 'wechat-c4c-check-failed').text(r.message);
          if (r.hint) $('<div class="wechat-c4c-check-hint">').append($('<i class="fa fa-lightbulb-o"></i> ')).append(document.createTextNode(' ' + r.hint)).appendTo($result);
        })
        .fail(function (xhr) {
          var r = xhr.responseJSON || {};
          $result.addClass('wechat-c4c-check-failed').text(r.message || opts.t('check.error', { message: xhr.status + ' ' + (xhr.statusText || '') }));
        })
        .always(function () { $btn.prop('disabled', false); });
    });
  };
})();
