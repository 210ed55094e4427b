// Kotae: live search, keyboard navigation and the copy button. No framework, no build step.
// Text from the server or the operator is set with textContent; only title_html and
// snippet_html go through innerHTML, because the server escapes them and adds <mark> itself.
(function () {
  "use strict";

  var DEBOUNCE_MS = 150;

  function byId(id) {
    return document.getElementById(id);
  }

  function show(el, visible) {
    el.hidden = !visible;
  }

  function isEditable(el) {
    return !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  // "/" anywhere except in a field jumps to the search box (both pages have one).
  function initShortcut() {
    var box = byId("q");
    if (!box) return;
    document.addEventListener("keydown", function (e) {
      if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
      if (isEditable(e.target)) return;
      e.preventDefault();
      box.focus();
      box.select();
    });
  }

  // ---- search page -------------------------------------------------------------------------

  function initSearch(form) {
    var box = byId("q");
    var category = byId("category");
    var list = byId("results");
    var hitTemplate = byId("hit-template");
    var suggestions = byId("suggestions");
    var suggestionTemplate = byId("suggestion-template");
    var maxChars = parseInt(box.getAttribute("data-max-chars"), 10) || 256;
    var articleUrl = form.getAttribute("data-article-url");

    var timer = null;
    var composing = false;
    var selected = -1;
    // Every request takes a number; a response is drawn only if it is still the newest.
    var searchSeq = 0;
    var suggestSeq = 0;
    var searchController = null;
    var suggestController = null;

    function params(extra) {
      var p = new URLSearchParams();
      // One character over the limit, so the server still says the query was cut.
      p.set("q", box.value.slice(0, maxChars + 1));
      if (category.value) p.set("category", category.value);
      Object.keys(extra || {}).forEach(function (k) { p.set(k, extra[k]); });
      return p;
    }

    function getJSON(url, controller) {
      return fetch(url, { signal: controller.signal, headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.json().then(function (data) {
            return { ok: response.ok, data: data };
          });
        });
    }

    function runSearch() {
      clearTimeout(timer);
      var seq = ++searchSeq;
      if (searchController) searchController.abort();
      searchController = null;
      runSuggest();
      if (!box.value.trim()) {
        clearResults();
        history.replaceState(null, "", form.action);
        return;
      }
      var controller = (searchController = new AbortController());
      var p = params();
      getJSON(form.getAttribute("data-search-url") + "?" + p, controller)
        .then(function (reply) {
          if (seq !== searchSeq) return;
          if (reply.ok) {
            render(reply.data);
            history.replaceState(null, "", form.action + "?" + p);
          } else {
            showError(reply.data && reply.data.error);
          }
        })
        .catch(function (err) {
          if (err.name !== "AbortError" && seq === searchSeq) showError(null);
        });
    }

    function runSuggest() {
      var seq = ++suggestSeq;
      if (suggestController) suggestController.abort();
      suggestController = null;
      if (!box.value.trim()) {
        renderSuggestions([]);
        return;
      }
      var controller = (suggestController = new AbortController());
      var p = new URLSearchParams({ q: box.value.slice(0, maxChars) });
      getJSON(form.getAttribute("data-suggest-url") + "?" + p, controller)
        .then(function (reply) {
          if (seq === suggestSeq && reply.ok) renderSuggestions(reply.data.suggestions || []);
        })
        .catch(function () { /* suggestions are a convenience; results carry on */ });
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(runSearch, DEBOUNCE_MS);
    }

    function articleHref(id) {
      return articleUrl + encodeURIComponent(id);
    }

    function hitElement(hit) {
      var li = hitTemplate.content.firstElementChild.cloneNode(true);
      var link = li.querySelector(".hit-title");
      link.href = articleHref(hit.id);
      link.innerHTML = hit.title_html; // escaped by the server, <mark> only
      li.querySelector(".hit-category").textContent = hit.category;
      var tags = li.querySelector(".hit-tags");
      hit.tags.forEach(function (tag) {
        var span = document.createElement("span");
        span.className = "tag";
        span.textContent = tag;
        tags.appendChild(span);
      });
      li.querySelector("[data-updated]").textContent = hit.updated;
      show(li.querySelector(".hit-updated"), !!hit.updated);
      li.querySelector(".hit-snippet").innerHTML = hit.snippet_html; // escaped by the server
      return li;
    }

    function pageHref(page) {
      return form.action + "?" + params({ page: page });
    }

    function render(data) {
      byId("notice-error").hidden = true;
      var summary = byId("summary");
      summary.querySelector("[data-total]").textContent = data.total;
      summary.querySelector("[data-elapsed]").textContent = data.elapsed_ms;
      summary.querySelector("[data-page]").textContent = data.page;
      summary.querySelector("[data-pages]").textContent = data.pages;
      show(summary.querySelector("[data-page-of]"), data.pages > 1);
      show(summary, data.total > 0);

      var message = byId("message");
      message.textContent = data.message || "";
      show(message, !!data.message);
      show(byId("notice-weak"), data.total > 0 && !data.confident);
      show(byId("notice-none"), !!data.normalized && data.total === 0);
      var dym = byId("did-you-mean");
      var dymLink = dym.querySelector("a");
      dymLink.textContent = data.did_you_mean || "";
      dymLink.dataset.query = data.did_you_mean || "";
      dymLink.href = data.did_you_mean ? form.action + "?" + params({ q: data.did_you_mean }) : "";
      show(dym, !!data.did_you_mean);

      list.replaceChildren(...data.hits.map(hitElement));
      selected = -1;

      var prev = byId("pager-prev");
      var next = byId("pager-next");
      prev.href = pageHref(data.page - 1);
      next.href = pageHref(data.page + 1);
      show(prev, data.page > 1);
      show(next, data.page < data.pages);
      show(byId("pager"), data.pages > 1);
      updateEscalate(data.normalized, data.total, data.confident, data.hits);
    }

    // The escalate link always carries the current query; with no hit or a weak one it comes
    // first, as the operator's next step.
    function updateEscalate(normalized, total, confident, hits) {
      var bar = byId("escalate-bar");
      if (!bar) return;
      var link = byId("escalate-link");
      var p = new URLSearchParams({ q: box.value.slice(0, maxChars) });
      if (hits && hits.length) p.set("category", hits[0].category);
      link.href = link.getAttribute("data-base") + "?" + p;
      var prominent = !!normalized && (total === 0 || !confident);
      show(bar, !!normalized);
      bar.classList.toggle("prominent", prominent);
      // First in line when it is the way forward; after the results when they answer the call.
      if (prominent && bar.nextElementSibling !== list) list.before(bar);
      if (!prominent && bar.previousElementSibling !== byId("pager")) byId("pager").after(bar);
    }

    function clearResults() {
      ["summary", "message", "notice-weak", "notice-none", "did-you-mean", "notice-error", "pager"].forEach(
        function (id) { show(byId(id), false); }
      );
      list.replaceChildren();
      selected = -1;
      updateEscalate("", 0, false, []);
    }

    function showError(text) {
      var message = byId("message");
      if (text) {
        message.textContent = text;
        show(message, true);
      } else {
        show(byId("notice-error"), true);
      }
    }

    function renderSuggestions(found) {
      suggestions.replaceChildren(...found.map(function (s) {
        var li = suggestionTemplate.content.firstElementChild.cloneNode(true);
        var link = li.querySelector("a");
        link.href = articleHref(s.article_id);
        link.textContent = s.text;
        link.dataset.kind = s.kind;
        return li;
      }));
      show(suggestions, found.length > 0);
    }

    function items() {
      return list.querySelectorAll(".hit");
    }

    function select(index) {
      var all = items();
      if (selected >= 0 && all[selected]) {
        all[selected].classList.remove("selected");
        all[selected].removeAttribute("aria-current");
      }
      selected = Math.max(-1, Math.min(index, all.length - 1));
      if (selected >= 0) {
        all[selected].classList.add("selected");
        all[selected].setAttribute("aria-current", "true");
        all[selected].scrollIntoView({ block: "nearest" });
      }
    }

    function openSelected() {
      var hit = items()[selected];
      if (hit) window.location.assign(hit.querySelector(".hit-title").href);
    }

    // IME: nothing is searched while a word is being composed; the search runs once it is fixed.
    box.addEventListener("compositionstart", function () {
      composing = true;
      clearTimeout(timer);
    });
    box.addEventListener("compositionend", function () {
      composing = false;
      schedule();
    });
    box.addEventListener("input", function (e) {
      if (composing || e.isComposing) return;
      schedule();
    });
    category.addEventListener("change", runSearch);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      runSearch();
    });
    byId("did-you-mean").querySelector("a").addEventListener("click", function (e) {
      if (!this.dataset.query) return;
      e.preventDefault();
      box.value = this.dataset.query;
      box.focus();
      runSearch();
    });

    document.addEventListener("keydown", function (e) {
      // Keys that confirm or pick an IME candidate belong to the IME.
      if (e.isComposing || composing || e.keyCode === 229) return;
      if (e.target !== box && isEditable(e.target)) return;
      if (e.key === "ArrowDown") {
        e.preventDefault();
        select(selected + 1);
      } else if (e.key === "ArrowUp") {
        e.preventDefault();
        select(selected - 1);
      } else if (e.key === "Enter" && selected >= 0) {
        e.preventDefault();
        openSelected();
      } else if (e.key === "Escape" && selected >= 0) {
        select(-1);
      }
    });

    function focusBox() {
      box.focus();
      var end = box.value.length;
      box.setSelectionRange(end, end);
    }
    focusBox();
    // Coming back with the browser's Back button restores the page; put the caret back too.
    window.addEventListener("pageshow", function (e) {
      if (e.persisted) focusBox();
    });
  }

  // ---- article page ------------------------------------------------------------------------

  // The answer as plain text a chat or mail can take: numbered steps, nested lists indented.
  function plainText(nodes) {
    var lines = [];
    function squash(parts) {
      return parts.map(function (n) { return n.textContent; }).join("").replace(/\s+/g, " ").trim();
    }
    function walk(node, depth) {
      var tag = node.nodeType === 1 ? node.tagName : "";
      if (tag === "OL" || tag === "UL") {
        var number = node.start || 1;
        Array.prototype.forEach.call(node.children, function (li) {
          if (li.tagName !== "LI") return;
          var own = [];
          var nested = [];
          li.childNodes.forEach(function (c) {
            (c.nodeType === 1 && /^(OL|UL)$/.test(c.tagName) ? nested : own).push(c);
          });
          var marker = tag === "OL" ? number++ + ". " : "・";
          lines.push("   ".repeat(depth) + marker + squash(own));
          nested.forEach(function (list) { walk(list, depth + 1); });
        });
        if (depth === 0) lines.push("");
      } else if (tag === "PRE") {
        lines.push(node.textContent.replace(/\n$/, ""), "");
      } else if (tag === "TABLE") {
        Array.prototype.forEach.call(node.rows, function (row) {
          lines.push(Array.prototype.map.call(row.cells, function (c) {
            return c.textContent.trim();
          }).join("\t"));
        });
        lines.push("");
      } else if (/^H[1-6]$/.test(tag)) {
        lines.push("", squash([node]));
      } else {
        var text = squash([node]);
        if (text) lines.push(text, "");
      }
    }
    nodes.forEach(function (n) { walk(n, 0); });
    return lines.join("\n").replace(/\n{3,}/g, "\n\n").trim();
  }

  // Wrap the resolution section (its heading and everything up to the next ## heading).
  function resolutionSection(body, heading) {
    var h2 = Array.prototype.find.call(body.querySelectorAll("h2"), function (h) {
      return h.textContent.trim() === heading;
    });
    if (!h2) return null;
    var section = document.createElement("section");
    section.className = "resolution";
    h2.parentNode.insertBefore(section, h2);
    var node = h2;
    while (node && !(node !== h2 && node.tagName === "H2")) {
      var next = node.nextSibling;
      section.appendChild(node);
      node = next;
    }
    return section;
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return copyFallback(text); });
    }
    return copyFallback(text);
  }

  // For pages served over plain http on an internal name, where navigator.clipboard is absent.
  function copyFallback(text) {
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "offscreen";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (err) {
        ok = false;
      }
      area.remove();
      (ok ? resolve : reject)();
    });
  }

  function initCopy(button) {
    var body = byId("article-body");
    var section = resolutionSection(body, button.getAttribute("data-heading"));
    if (!section) {
      button.hidden = true;
      return;
    }
    var done = byId("copy-done");
    var failed = byId("copy-failed");
    var hideTimer = null;
    button.addEventListener("click", function () {
      var nodes = Array.prototype.slice.call(section.children, 1);
      clearTimeout(hideTimer);
      copyText(plainText(nodes)).then(
        function () {
          show(failed, false);
          show(done, true);
          hideTimer = setTimeout(function () { show(done, false); }, 2500);
        },
        function () {
          show(done, false);
          show(failed, true);
        }
      );
    });
  }

  function initBackLink(link) {
    // Back to the results the operator came from, query included.
    if (!document.referrer) return;
    var from = new URL(document.referrer);
    if (from.origin === window.location.origin && from.pathname === new URL(link.href).pathname) {
      link.href = from.href;
    }
  }

  // ---- escalations: live lists, the detail page, the answer notice ----------------------------

  // How far back each "what changed since" request reaches past the previous answer: a change
  // committed while the previous request was being answered is picked up by the next one.
  var SINCE_OVERLAP_MS = 10000;

  function sinceAfter(serverNow) {
    var t = Date.parse(serverNow);
    return isNaN(t) ? serverNow : new Date(t - SINCE_OVERLAP_MS).toISOString();
  }

  // Answers are Markdown rendered and sanitised by the server (the same renderer as articles).
  // What has not changed is left alone, so a selection (to copy an answer) or the keyboard
  // focus survives the next poll.
  function setSanitisedHtml(el, html) {
    if (el.kotaeHtml === html) return;
    el.kotaeHtml = html;
    el.innerHTML = html;
  }

  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  // Make list's children exactly ``wanted``, in order, moving only the rows out of place.
  function syncChildren(list, wanted) {
    wanted.forEach(function (li, i) {
      if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
    });
    while (list.children.length > wanted.length) list.lastElementChild.remove();
  }

  // Calls onData with the JSON at address() every few seconds while the page is visible, and at
  // once when it becomes visible again.
  function poll(address, seconds, onData) {
    var busy = false;
    function tick() {
      if (busy || document.hidden) return;
      busy = true;
      fetch(address(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) onData(data); })
        .catch(function () { /* try again on the next tick */ })
        .then(function () { busy = false; });
    }
    setInterval(tick, (seconds || 3) * 1000);
    document.addEventListener("visibilitychange", tick);
    return tick;
  }

  function minutesText(minutes) {
    if (minutes < 60) return minutes + " 分";
    return Math.floor(minutes / 60) + " 時間" + (minutes % 60 ? " " + (minutes % 60) + " 分" : "");
  }

  // The deadline that matters now: to acknowledge while open, to answer once taken, and to
  // answer as soon as that one has passed (a re-routed escalation gets a new acknowledge
  // deadline, but its answer deadline does not move).
  function timeLeft(el, now) {
    var status = el.getAttribute("data-status");
    var acknowledgeBy = Date.parse(el.getAttribute("data-acknowledge-by") || "");
    var answerBy = Date.parse(el.getAttribute("data-answer-by") || "");
    if (status !== "open" && status !== "acknowledged") {
      setText(el, "");
      el.classList.remove("late");
      return;
    }
    var what = "回答";
    var deadline = answerBy;
    if (status === "open" && !(answerBy < now)) {
      what = "受付";
      deadline = acknowledgeBy;
    }
    if (isNaN(deadline)) return;
    var minutes = Math.round((deadline - now) / 60000);
    setText(el, minutes >= 0
      ? what + "期限まで " + minutesText(minutes)
      : what + "期限を " + minutesText(-minutes) + " 超過");
    el.classList.toggle("late", minutes < 0);
  }

  function answerOf(e) {
    if (e.answer_html) return { kind: "answer", html: e.answer_html };
    if (e.interim_html) return { kind: "interim", html: e.interim_html };
    return { kind: "", html: "" };
  }

  function fillRow(li, e) {
    li.setAttribute("data-id", e.id);
    li.setAttribute("data-status", e.status);
    li.className = "esc-row urgency-" + e.urgency + (e.overdue ? " overdue" : "");
    var link = li.querySelector(".esc-title");
    link.setAttribute("href", e.url);
    setText(link, "#" + e.id + " " + (e.query || (e.note || "").slice(0, 40)));
    setText(li.querySelector('[data-field="status_label"]'), e.status_label);
    setText(li.querySelector('[data-field="level_name"]'), "レベル" + e.level + " " + e.level_name);
    setText(li.querySelector('[data-field="category"]'), e.category || "未分類");
    var assignee = li.querySelector('[data-field="assignee"]');
    setText(assignee, e.assignee ? "担当: " + e.assignee : "");
    show(assignee, !!e.assignee);
    var left = li.querySelector(".time-left");
    left.setAttribute("data-status", e.status);
    left.setAttribute("data-acknowledge-by", e.acknowledge_by || "");
    left.setAttribute("data-answer-by", e.answer_by || "");
    timeLeft(left, Date.now());
    var answer = answerOf(e);
    var box = li.querySelector('[data-field="answer_html"]');
    box.setAttribute("data-kind", answer.kind);
    setSanitisedHtml(box, answer.html);
    show(box, !!answer.kind);
  }

  // A list that mirrors the server's: the queue (replaced whole) or "my escalations" (rows that
  // changed are merged in, newest on top).
  function initLiveList(list, emptyId, replace) {
    var template = byId("escalation-row-template");
    var rows = {};
    list.querySelectorAll(".esc-row").forEach(function (li) { rows[li.getAttribute("data-id")] = li; });
    function rowFor(e) {
      var li = rows[e.id] || template.content.firstElementChild.cloneNode(true);
      rows[e.id] = li;
      fillRow(li, e);
      return li;
    }
    function refreshTimes() {
      list.querySelectorAll(".time-left").forEach(function (el) { timeLeft(el, Date.now()); });
    }
    refreshTimes();
    setInterval(refreshTimes, 30000);
    var base = list.getAttribute("data-poll-url");
    var since = replace ? null : sinceAfter(document.body.getAttribute("data-server-now"));
    function address() {
      if (!since) return base;
      return base + (base.indexOf("?") < 0 ? "?" : "&") + "since=" + encodeURIComponent(since);
    }
    poll(address, parseInt(list.getAttribute("data-poll-seconds"), 10), function (data) {
      if (replace) {
        var wanted = data.escalations.map(rowFor);
        syncChildren(list, wanted);
        rows = {};
        wanted.forEach(function (li) { rows[li.getAttribute("data-id")] = li; });
      } else {
        data.escalations.slice().reverse().forEach(function (e) {
          var li = rowFor(e);
          if (list.firstElementChild !== li) list.prepend(li);
        });
        since = data.since || sinceAfter(data.now);
      }
      show(byId(emptyId), list.children.length === 0);
    });
  }

  function initDetail(article) {
    var url = article.getAttribute("data-poll-url");
    poll(function () { return url; }, parseInt(article.getAttribute("data-poll-seconds"), 10), function (e) {
      article.setAttribute("data-status", e.status);
      setText(article.querySelector('[data-field="status_label"]'), e.status_label);
      [["interim", "interim_html"], ["answer", "answer_html"]].forEach(function (pair) {
        var box = byId(pair[0]);
        if (!box) return;
        setSanitisedHtml(box.querySelector('[data-field="' + pair[1] + '"]'), e[pair[1]] || "");
        show(box, !!e[pair[1]]);
      });
    });
  }

  // A short fingerprint of an answer's text, so the same answer is announced once.
  function fingerprint(text) {
    var h = 5381;
    for (var i = 0; i < text.length; i++) h = ((h * 33) ^ text.charCodeAt(i)) >>> 0;
    return text.length + "-" + h.toString(36);
  }

  // On every page of an operator (the list of their escalations shows answers itself): a
  // notice the moment an answer to one of their escalations arrives. It stays, across pages of
  // this tab, until it is closed or its link is followed.
  function initAnswerNotice(notice, url) {
    var list = notice.querySelector(".answer-notice-list");
    var template = byId("answer-notice-item");
    var storeKey = "kotae-answer-notice:" + document.body.getAttribute("data-user");
    var state = null;
    try {
      state = JSON.parse(sessionStorage.getItem(storeKey));
    } catch (err) {
      state = null;
    }
    if (!state || !state.since) {
      state = { since: sinceAfter(document.body.getAttribute("data-server-now")), shown: [], done: [] };
    }

    function save() {
      state.done = state.done.slice(-200);
      try {
        sessionStorage.setItem(storeKey, JSON.stringify(state));
      } catch (err) { /* private mode: the notice still works on this page */ }
    }

    function finish(keys) {
      state.shown = state.shown.filter(function (item) {
        if (keys.indexOf(item.key) < 0) return true;
        state.done.push(item.key);
        return false;
      });
      save();
      render();
    }

    function render() {
      list.replaceChildren(...state.shown.map(function (item) {
        var li = template.content.firstElementChild.cloneNode(true);
        var link = li.querySelector(".answer-notice-link");
        link.href = item.url;
        link.textContent = item.title;
        link.addEventListener("click", function () { finish([item.key]); });
        li.querySelector(".answer-notice-kind").textContent = item.interim ? "暫定回答" : "回答";
        li.setAttribute("data-id", item.id);
        setSanitisedHtml(li.querySelector(".answer-notice-body"), item.html);
        return li;
      }));
      show(notice, state.shown.length > 0);
    }

    byId("answer-notice-close").addEventListener("click", function () {
      finish(state.shown.map(function (item) { return item.key; }));
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && !notice.hidden && !isEditable(e.target)) {
        finish(state.shown.map(function (item) { return item.key; }));
      }
    });

    render();
    poll(function () {
      return url + "?since=" + encodeURIComponent(state.since);
    }, 3, function (data) {
      var changed = false;
      data.escalations.forEach(function (e) {
        var answer = answerOf(e);
        if (!answer.kind) return;
        var key = e.id + ":" + answer.kind + ":" + fingerprint(e.answer || e.interim || "");
        if (state.done.indexOf(key) >= 0) return;
        if (state.shown.some(function (item) { return item.key === key; })) return;
        // A newer answer to the same escalation replaces the one shown.
        state.shown = state.shown.filter(function (item) { return item.id !== e.id; });
        state.shown.unshift({
          key: key, id: e.id, url: e.url, interim: answer.kind === "interim", html: answer.html,
          title: "#" + e.id + " " + (e.query || (e.note || "").slice(0, 40)),
        });
        changed = true;
      });
      state.since = sinceAfter(data.now);
      save();
      if (changed) render();  // otherwise a selection in the notice would be lost
    });
  }

  // ---- the article editor: live preview through the server's sanitising renderer -----------

  function initPreview(body, preview) {
    var url = body.getAttribute("data-preview-url");
    var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
    var timer = null, controller = null;
    function refresh() {
      if (controller) controller.abort();
      controller = new AbortController();
      var data = new FormData();
      data.append("body", body.value);
      fetch(url, {method: "POST", body: data, headers: {"X-CSRFToken": token},
                  credentials: "same-origin", signal: controller.signal})
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (reply) { setSanitisedHtml(preview, reply.html); })  // nh3 on the server
        .catch(function () { /* the preview is a convenience; the save still works */ });
    }
    body.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    });
  }

  // ---- notices: "an article now answers your escalation" -----------------------------------

  function initNotices(box, url) {
    var list = box.querySelector(".article-notice-list");
    var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
    function poll() {
      fetch(url, {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (data) {
          list.replaceChildren.apply(list, data.notices.map(function (n) {
            var li = document.createElement("li");
            var a = document.createElement("a");
            a.href = n.url;
            a.textContent = n.text;
            a.className = "article-notice-link";
            a.addEventListener("click", function () {
              fetch(n.read_url, {method: "POST", headers: {"X-CSRFToken": token},
                                 credentials: "same-origin", keepalive: true});
            });
            li.appendChild(a);
            return li;
          }));
          show(box, data.notices.length > 0);
        })
        .catch(function () { /* try again at the next poll */ })
        .finally(function () { setTimeout(poll, 3000); });
    }
    poll();
  }

  initShortcut();
  var editorBody = byId("field-body");
  var editorPreview = byId("editor-preview");
  if (editorBody && editorPreview) initPreview(editorBody, editorPreview);
  var noticesBox = byId("article-notice");
  if (noticesBox) initNotices(noticesBox, noticesBox.getAttribute("data-url"));
  var form = byId("search-form");
  if (form) initSearch(form);
  var copyButton = byId("copy-answer");
  if (copyButton) initCopy(copyButton);
  var back = byId("back-link");
  if (back) initBackLink(back);
  var queueList = byId("queue");
  if (queueList) initLiveList(queueList, "queue-empty", true);
  var myList = byId("my-escalations");
  if (myList) initLiveList(myList, "my-empty", false);
  var detail = byId("escalation");
  if (detail) initDetail(detail);
  var myUrl = document.body.getAttribute("data-my-escalations-url");
  var notice = byId("answer-notice");
  if (myUrl && notice && !myList) initAnswerNotice(notice, myUrl);
})();
