// Live updates for the Lockstep dashboard: listens to the server's event stream and
// re-renders the page's live section in place; sends board moves and run steps with
// the CSRF token.
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';
  var live = document.getElementById('live');
  var status = document.getElementById('live-status');
  var flash = document.getElementById('flash');

  // Server messages quote names in backticks: show those spans as code.
  function say(text, isError) {
    if (!flash) return;
    flash.textContent = '';
    String(text).split('`').forEach(function (part, index) {
      if (index % 2) {
        var code = document.createElement('code');
        code.textContent = part;
        flash.appendChild(code);
      } else {
        flash.appendChild(document.createTextNode(part));
      }
    });
    flash.className = 'show' + (isError ? ' error' : '');
    clearTimeout(say.timer);
    say.timer = setTimeout(function () { flash.className = ''; }, 5000);
  }

  // One fetch at a time; a refresh asked for meanwhile runs once it is done, so a
  // change that lands during a fetch is never lost to a stale page.
  var pending = false;
  var again = null;
  function refresh(summary) {
    if (!live) return;
    if (pending) { again = summary || again || ''; return; }
    pending = true;
    fetch(window.location.href, { headers: { 'Accept': 'text/html' }, credentials: 'same-origin' })
      .then(function (r) {
        // Pages send a signed-out visitor to the login form.
        if (r.redirected && new URL(r.url).pathname === '/login') { signedOut(); return ''; }
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var next = doc.getElementById('live');
        if (next) {
          var focus = focused();
          var open = opened();
          var chosen = choices();
          var typing = kept();
          live.innerHTML = next.innerHTML;
          reopen(open);
          rechoose(chosen);
          restore(typing);
          refocus(focus);
        }
        if (status && summary) status.textContent = 'Updated: ' + summary;
      })
      .catch(function () { /* offline: the next change or showing the page retries */ })
      .finally(function () {
        pending = false;
        if (again !== null) {
          var next = again;
          again = null;
          refresh(next || undefined);
        }
      });
  }

  // Re-rendering replaces the live section: sections the reader opened or closed
  // (<details>, keyed by id or summary title) stay as they were, so nothing jumps.
  function detailsKey(details) {
    var title = details.querySelector('summary b') || details.querySelector('summary');
    return details.id || (title ? title.textContent : '');
  }

  function opened() {
    var open = {};
    live.querySelectorAll('details').forEach(function (details) { open[detailsKey(details)] = details.open; });
    return open;
  }

  function reopen(open) {
    live.querySelectorAll('details').forEach(function (details) {
      var key = detailsKey(details);
      if (Object.prototype.hasOwnProperty.call(open, key)) details.open = open[key];
    });
  }

  // A status chosen on the board but not yet moved survives a re-render, so that Move
  // sends what the reader chose rather than what the server last rendered.
  function choices() {
    var chosen = {};
    live.querySelectorAll('select[data-move]').forEach(function (select) {
      if (!select.options[select.selectedIndex].defaultSelected) chosen[select.id] = select.value;
    });
    return chosen;
  }

  function rechoose(chosen) {
    Object.keys(chosen).forEach(function (id) {
      var select = document.getElementById(id);
      if (select) select.value = chosen[id];
    });
  }

  // Re-rendering replaces the live section: keep keyboard focus where it was, on the
  // same control by id, else on the same item's card (a released item has no controls).
  function focused() {
    var active = document.activeElement;
    if (!active || active === document.body || !live.contains(active)) return null;
    var card = active.closest('[data-item]');
    return { id: active.id, item: card ? card.getAttribute('data-item') : null };
  }

  function refocus(focus) {
    if (!focus) return;
    var target = focus.id ? document.getElementById(focus.id) : null;
    if (!target && focus.item) {
      var card = live.querySelector('[data-item="' + CSS.escape(focus.item) + '"]');
      target = card && card.querySelector('a');
    }
    if (target) target.focus();
  }

  // Sections marked data-keep hold forms: the re-rendered page keeps the reader's own
  // copy, with what they typed, in place of the fresh one.
  function kept() {
    var sections = {};
    live.querySelectorAll('[data-keep][id]').forEach(function (section) { sections[section.id] = section; });
    return sections;
  }

  function restore(sections) {
    live.querySelectorAll('[data-keep][id]').forEach(function (fresh) {
      var mine = sections[fresh.id];
      if (mine) fresh.replaceWith(mine);
    });
  }

  // Board moves: the select only chooses; the Move button writes.
  function move(button) {
    var item = button.getAttribute('data-move-button');
    var select = document.getElementById('move-' + item);
    if (!select) return;
    var to = select.value;
    var label = select.options[select.selectedIndex].text;
    if (select.options[select.selectedIndex].defaultSelected) {
      say('Choose another status for ' + button.getAttribute('data-title') + ' first');
      return;
    }
    if (to === 'released' && !window.confirm('Released is final: it cannot be undone. Move ' +
      button.getAttribute('data-title') + ' to Released?')) return;
    post('/api/v1/items/' + encodeURIComponent(item) + '/status', { status: to },
      'Moved ' + item + ' to ' + label);
  }

  // Change requests: approve (with an optional note), reject (saying why), withdraw.
  function decideChange(button) {
    var change = button.getAttribute('data-change');
    var action = button.getAttribute('data-change-action');
    var question = button.getAttribute('data-confirm');
    if (question && !window.confirm(question)) return;
    var body = {};
    var ask = button.getAttribute('data-reason');
    if (ask) {
      var answer = window.prompt(ask, '');
      if (answer === null) return;
      if (!answer.trim() && !button.hasAttribute('data-reason-optional')) return;
      if (answer.trim()) body.rationale = answer.trim();
    }
    post('/api/v1/change-requests/' + encodeURIComponent(change) + '/' + action, body,
      change + ': ' + action);
  }

  // A calendar conflict's proposed move, as a change request: its page, once proposed.
  function proposeMove(button) {
    if (!window.confirm(button.getAttribute('data-confirm'))) return;
    var release = button.getAttribute('data-propose-move');
    post('/api/v1/releases/' + encodeURIComponent(release) + '/move',
      { to: button.getAttribute('data-to') }, null,
      function (answer) { window.location.href = '/changes/' + encodeURIComponent(answer.name); });
  }

  // Writes: board moves, item updates, and run steps and rollbacks on the runbook page.
  // `then`, if given, gets the answer of a successful write (a dry run's impact).
  function post(url, body, done, then) {
    fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (r.ok) {
        if (done) { say(done); refresh(); }
        if (then) return r.json().then(then);
        return;
      }
      if (r.status === 401) { signedOut(); return; }
      return r.json().then(function (problem) {
        say('Refused: ' + (problem.detail || problem.title), true);
        refresh();
      });
    });
  }

  // The item page: move the ETA (after a preview of what it puts at risk, if wanted) and
  // post a status note.
  function etaBody(form) {
    var reason = form.elements.reason.value.trim();
    var body = { eta: form.elements.eta.value || null };
    if (reason) body.reason = reason;
    return body;
  }

  function element(tag, text) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function showImpact(box, impact) {
    box.textContent = '';
    box.appendChild(element('h3', 'If you move it'));
    var list = element('ul');
    (impact.releases || []).forEach(function (release) {
      if (release.atRiskAfter && !release.atRiskBefore) {
        list.appendChild(element('li', 'Release ' + release.release + ' becomes at risk'));
      } else if (release.atRiskBefore && !release.atRiskAfter) {
        list.appendChild(element('li', 'Release ' + release.release + ' is no longer at risk'));
      }
    });
    (impact.newlyAtRisk || []).forEach(function (entry) {
      var item = element('li');
      item.appendChild(element('b', entry[0]));
      item.appendChild(document.createTextNode(' becomes at risk: ' + entry[1].join(' → ')));
      list.appendChild(item);
    });
    (impact.noLongerAtRisk || []).forEach(function (name) {
      list.appendChild(element('li', name + ' is no longer at risk'));
    });
    if (!list.children.length) list.appendChild(element('li', 'Nothing new is at risk.'));
    box.appendChild(list);
    if ((impact.teams || []).length) {
      box.appendChild(element('p', 'Teams to tell: ' + impact.teams.join(', ')));
    }
    box.hidden = false;
  }

  function today() {
    var now = new Date();
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    return now.getFullYear() + '-' + pad(now.getMonth() + 1) + '-' + pad(now.getDate());
  }

  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (form.hasAttribute('data-eta-form')) {
      e.preventDefault();
      var item = form.getAttribute('data-eta-form');
      var body = etaBody(form);
      if (!body.eta && !window.confirm('Clear the ETA of ' + item + '?')) return;
      post('/api/v1/items/' + encodeURIComponent(item) + '/eta', body,
        body.eta ? 'ETA of ' + item + ' moved to ' + body.eta : 'ETA of ' + item + ' cleared',
        function () {
          form.elements.reason.value = '';
          var box = form.parentNode.querySelector('[data-eta-impact]');
          if (box) box.hidden = true;
        });
    } else if (form.hasAttribute('data-coordination-form')) {
      e.preventDefault();
      var release = form.getAttribute('data-coordination-form');
      var record = {
        activity: form.elements.activity.value,
        minutes: Number(form.elements.minutes.value),
        people: Number(form.elements.people.value)
      };
      if (form.elements.on.value) record.on = form.elements.on.value;
      if (form.elements.note.value.trim()) record.note = form.elements.note.value.trim();
      post('/api/v1/releases/' + encodeURIComponent(release) + '/coordination', record,
        'Recorded ' + record.minutes + ' min × ' + record.people + ' on ' + release,
        function () { form.elements.minutes.value = ''; form.elements.note.value = ''; });
    } else if (form.hasAttribute('data-rating-form')) {
      e.preventDefault();
      var rated = form.getAttribute('data-rating-form');
      var rating = { score: Number(form.elements.score.value) };
      if (form.elements.comment.value.trim()) rating.comment = form.elements.comment.value.trim();
      post('/api/v1/releases/' + encodeURIComponent(rated) + '/coordination/rating', rating,
        'Rated ' + rating.score + ' of 5', function () { form.elements.comment.value = ''; });
    } else if (form.hasAttribute('data-note-form')) {
      e.preventDefault();
      var noted = form.getAttribute('data-note-form');
      var text = form.elements.text.value.trim();
      if (!text) return;
      post('/api/v1/items/' + encodeURIComponent(noted) + '/updates', { date: today(), text: text },
        'Note posted on ' + noted, function () { form.elements.text.value = ''; });
    }
  });

  function previewEta(button) {
    var form = button.closest('form');
    var box = form.parentNode.querySelector('[data-eta-impact]');
    var item = form.getAttribute('data-eta-form');
    post('/api/v1/items/' + encodeURIComponent(item) + '/eta?dryRun', etaBody(form), null,
      function (answer) { showImpact(box, answer.impact || {}); });
  }

  document.addEventListener('click', function (e) {
    var button = e.target.closest ? e.target.closest('button[data-step], button[data-rollback], button[data-run-start], button[data-move-button], button[data-change], button[data-lesson], button[data-eta-preview], button[data-retract], button[data-propose-move]') : null;
    if (!button) return;
    if (button.hasAttribute('data-eta-preview')) { previewEta(button); return; }
    if (button.hasAttribute('data-move-button')) { move(button); return; }
    if (button.hasAttribute('data-change')) { decideChange(button); return; }
    if (button.hasAttribute('data-propose-move')) { proposeMove(button); return; }
    if (button.hasAttribute('data-retract')) {
      var owner = button.getAttribute('data-retract');
      var number = button.getAttribute('data-number');
      if (!window.confirm('Retract coordination record ' + number + ' of ' + owner + '?')) return;
      post('/api/v1/releases/' + encodeURIComponent(owner) + '/coordination/' + number + '/retract',
        {}, 'Record ' + number + ' retracted');
      return;
    }
    if (button.hasAttribute('data-lesson')) {
      var lesson = window.prompt('What would we do differently?', '');
      if (!lesson || !lesson.trim()) return;
      post('/api/v1/releases/' + encodeURIComponent(button.getAttribute('data-lesson')) + '/lessons',
        { text: lesson.trim() }, 'Lesson kept');
      return;
    }
    var question = button.getAttribute('data-confirm');
    if (question && !window.confirm(question)) return;
    // An override the server records: no reason, no request.
    var reasonQuestion = button.getAttribute('data-reason');
    var reason = null;
    if (reasonQuestion) {
      reason = window.prompt(reasonQuestion, '');
      if (!reason || !reason.trim()) return;
    }
    if (button.hasAttribute('data-run-start')) {
      var started = button.getAttribute('data-run-start');
      post('/api/v1/releases/' + encodeURIComponent(started) + '/run',
        reason ? { breakGlassReason: reason.trim() } : {}, 'Run started');
      return;
    }
    if (button.hasAttribute('data-rollback')) {
      var name = button.getAttribute('data-rollback');
      post('/api/v1/releases/' + encodeURIComponent(name) + '/run/rollback', {}, 'Rollback started');
      return;
    }
    var release = button.getAttribute('data-release');
    var step = button.getAttribute('data-step');
    var action = button.getAttribute('data-action');
    post('/api/v1/releases/' + encodeURIComponent(release) + '/run/steps/' + encodeURIComponent(step),
      { action: action }, step + ': ' + action);
  });

  // The live feed holds one of the six connections Chromium allows per host: a hidden
  // page closes it, so that a seventh tab still loads, and catches up when shown again.
  var source = null;
  var ended = false;

  function connect() {
    if (!live || !window.EventSource || source || ended) return;
    source = new EventSource('/api/v1/events');
    source.addEventListener('change', function (e) {
      var change = {};
      try { change = JSON.parse(e.data); } catch (err) { /* ignore */ }
      var scope = live.getAttribute('data-release');
      if (!scope || !change.release || change.release === scope) refresh(change.summary);
    });
    source.addEventListener('resync', function () { refresh('resynchronised'); });
    source.onopen = function () { document.body.setAttribute('data-live', 'connected'); };
    source.onerror = function () {
      // Closed rather than reconnecting: the server refused the stream (401 when the
      // session has ended).
      if (source && source.readyState === EventSource.CLOSED) {
        disconnect();
        fetch('/api/v1/me', { credentials: 'same-origin' })
          .then(function (r) { if (r.status === 401) signedOut(); })
          .catch(function () { /* offline */ });
      }
    };
  }

  function disconnect() {
    if (source) source.close();
    source = null;
    document.body.setAttribute('data-live', 'closed');
  }

  // Say once, and for good, that the session is over: a stale page must not look live.
  function signedOut() {
    if (ended) return;
    ended = true;
    disconnect();
    document.body.setAttribute('data-live', 'signed-out');
    var notice = document.createElement('div');
    notice.id = 'signed-out';
    notice.setAttribute('role', 'alert');
    notice.appendChild(document.createTextNode('Signed out — this page no longer updates. '));
    var link = document.createElement('a');
    link.href = window.location.href;
    link.textContent = 'Reload to sign in';
    notice.appendChild(link);
    document.body.insertBefore(notice, document.body.firstChild);
  }

  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'hidden') {
      disconnect();
    } else if (!ended) {
      connect();
      refresh('page shown again');
    }
  });
  if (document.visibilityState !== 'hidden') connect();
})();
