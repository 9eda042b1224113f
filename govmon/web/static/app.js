// govmon console: the only script. Polls a running 重新检查 and reloads the page when it is done.
(function () {
  'use strict';
  function pollRescan() {
    var box = document.getElementById('rescan-status');
    if (!box || box.getAttribute('data-finished') === 'yes') { return; }
    var handle = box.getAttribute('data-handle');
    var timer = setInterval(function () {
      fetch('/api/rescans/' + encodeURIComponent(handle), {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (s && (s.state === 'done' || s.state === 'failed')) {
            clearInterval(timer);
            var url = new URL(window.location.href);
            url.searchParams.set('rescan', handle);
            window.location.replace(url.toString());
          }
        })
        .catch(function () { /* keep polling: the server may be busy */ });
    }, 1000);
  }
  document.addEventListener('DOMContentLoaded', function () {
    pollRescan();
    document.body.setAttribute('data-ready', '1');
  });
})();
