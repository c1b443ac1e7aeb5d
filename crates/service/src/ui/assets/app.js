// Sync Center: the page's only script (served from the binary, no build step).
// It follows the daemon's event stream (/events): a running sync's progress is
// updated in place, and when something changes (a sync ended, a share went away, a
// conflict came or went, a pin...) the page takes a fresh look at itself. Times
// like "5 min ago" are kept current. Everything works without it, by reloading.
(function () {
  'use strict';

  function fmtBytes(n) {
    if (n < 1024) return n + ' B';
    var units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    var v = n / 1024, u = 0;
    while (v >= 1024 && u + 1 < units.length) { v /= 1024; u++; }
    return v.toFixed(1) + ' ' + units[u];
  }

  function span(secs) {
    secs = Math.max(0, Math.round(secs));
    if (secs < 90) return secs + ' s';
    if (secs < 5400) return Math.round(secs / 60) + ' min';
    if (secs < 172800) return Math.round(secs / 3600) + ' h';
    return Math.round(secs / 86400) + ' days';
  }

  function relTimes() {
    var nowSecs = Date.now() / 1000;
    document.querySelectorAll('time[data-ns]').forEach(function (t) {
      var secs = parseFloat(t.dataset.ns) / 1e9 - nowSecs;
      t.textContent = secs > 0 ? 'in ' + span(secs) : span(-secs) + ' ago';
    });
  }

  function updateProgress(p) {
    var el = document.querySelector('[data-progress][data-index="' + p.cache + '"]');
    if (!el) return;
    el.dataset.running = p.running ? 'true' : 'false';
    el.hidden = !p.running;
    if (!p.running) return;
    var bar = el.querySelector('progress');
    var text = el.querySelector('.progress-text');
    el.dataset.done = String(p.done);
    el.dataset.total = p.total == null ? '' : String(p.total);
    if (p.total == null) {
      bar.removeAttribute('value');
      text.textContent = 'Syncing: comparing the cache and the share…';
    } else {
      bar.max = Math.max(p.total, 1);
      bar.value = p.done;
      text.textContent = 'Syncing: ' + p.done + ' of ' + p.total + ' items, ' + fmtBytes(p.bytes || 0);
    }
  }

  // Where the keyboard focus was, so a fresh look puts it back.
  function focusKey(el) {
    if (!el || el === document.body) return null;
    if (el.id) return '#' + CSS.escape(el.id);
    var keys = ['data-keep', 'data-action'];
    var holder = el.closest('[data-path]') || el.closest('[data-index]');
    for (var i = 0; i < keys.length; i++) {
      var v = el.getAttribute(keys[i]);
      if (v == null) continue;
      var own = '[' + keys[i] + '="' + CSS.escape(v) + '"]';
      if (!holder) return own;
      var attr = holder.hasAttribute('data-path') ? 'data-path' : 'data-index';
      return '[' + attr + '="' + CSS.escape(holder.getAttribute(attr)) + '"] ' + own;
    }
    if (el.tagName === 'A' && el.getAttribute('href')) {
      return 'a[href="' + CSS.escape(el.getAttribute('href')) + '"]';
    }
    return null;
  }

  var timer = null, busy = false, again = false;

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('main');
        var main = document.getElementById('main');
        if (!fresh || !main) return;
        var key = focusKey(document.activeElement);
        var closed = [];
        main.querySelectorAll('details').forEach(function (d, i) { if (!d.open) closed.push(i); });
        main.replaceChildren.apply(main, Array.prototype.slice.call(fresh.childNodes).map(function (n) {
          return document.adoptNode(n);
        }));
        main.querySelectorAll('details').forEach(function (d, i) { if (closed.indexOf(i) >= 0) d.open = false; });
        if (key) {
          var target = main.querySelector(key);
          if (target) target.focus({ preventScroll: true });
        }
        relTimes();
        document.documentElement.dataset.refreshed = String(Date.now());
      })
      .catch(function () { /* the next change tries again */ })
      .then(function () {
        busy = false;
        if (again) { again = false; schedule(); }
      });
  }

  function schedule() {
    if (timer) return;
    timer = setTimeout(function () { timer = null; refresh(); }, 300);
  }

  function follow() {
    var live = document.getElementById('live');
    var es = new EventSource('/events');
    es.addEventListener('open', function () { if (live) live.textContent = 'live'; });
    es.addEventListener('error', function () { if (live) live.textContent = 'reconnecting…'; });
    es.addEventListener('progress', function (e) { updateProgress(JSON.parse(e.data)); });
    es.addEventListener('changed', schedule);
  }

  document.addEventListener('DOMContentLoaded', function () {
    relTimes();
    setInterval(relTimes, 15000);
    if (window.EventSource) follow();
  });
})();
