/* Suggestions as one types (server/browse.py, /browse/suggest): progressive enhancement of a search box.
 *
 * Enhances every <input data-suggest> and every input named q in a form with role=search. Without this script
 * the form still submits to the search page. Suggestions are built as DOM text (textContent), never as HTML,
 * and each links to a same-origin path the server wrote ("/doc/…"). Keys: ↓/↑ move, Enter opens, Escape closes.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var endpoint = (script && script.getAttribute("data-suggest-url")) || "/browse/suggest";
  var count = 0;

  function samePath(href) {
    return typeof href === "string" && href.charAt(0) === "/" && href.charAt(1) !== "/";
  }

  function enhance(input) {
    if (input.getAttribute("data-suggest-ready")) { return; }
    input.setAttribute("data-suggest-ready", "1");
    count += 1;
    var list = document.createElement("ul");
    list.id = "suggestions-" + count;
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    var wrap = document.createElement("span");
    wrap.className = "suggest-wrap";
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    wrap.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");
    var timer = null, active = -1, asked = 0;

    function close() {
      list.hidden = true;
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function mark(index) {
      var items = list.querySelectorAll("li");
      active = index;
      for (var i = 0; i < items.length; i++) {
        items[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      if (index >= 0 && items[index]) { input.setAttribute("aria-activedescendant", items[index].id); }
    }

    function show(suggestions) {
      list.textContent = "";
      suggestions.forEach(function (s, i) {
        if (!samePath(s.doc)) { return; }
        var li = document.createElement("li");
        li.id = list.id + "-" + i;
        li.setAttribute("role", "option");
        var a = document.createElement("a");
        a.href = s.doc;
        a.textContent = s.label || s.id;
        var extra = [s.labelZhHant, s.id].filter(function (x) { return x && x !== s.label; });
        var kind = document.createElement("span");
        kind.className = "kind";
        kind.textContent = (extra.length ? extra.join(" · ") + " · " : "") + s.kind;
        a.appendChild(kind);
        li.appendChild(a);
        list.appendChild(li);
      });
      if (list.children.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        mark(-1);
      } else {
        close();
      }
    }

    function ask() {
      var text = input.value.trim();
      if (!text) { close(); return; }
      var mine = ++asked;
      fetch(endpoint + "?q=" + encodeURIComponent(text), {headers: {Accept: "application/json"}})
        .then(function (r) { return r.ok ? r.json() : {suggestions: []}; })
        .then(function (body) { if (mine === asked) { show(body.suggestions || []); } })
        .catch(function () { close(); });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 120);
    });
    input.addEventListener("keydown", function (event) {
      var items = list.querySelectorAll("li");
      if (list.hidden || !items.length) { return; }
      if (event.key === "ArrowDown") {
        event.preventDefault();
        mark((active + 1) % items.length);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        mark(active <= 0 ? items.length - 1 : active - 1);
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        var href = items[active].querySelector("a").getAttribute("href");
        if (samePath(href)) { window.location.assign(href); }
      } else if (event.key === "Escape") {
        close();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 200); });
  }

  function start() {
    var inputs = document.querySelectorAll("input[data-suggest], form[role=search] input[name=q]");
    Array.prototype.forEach.call(inputs, enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
