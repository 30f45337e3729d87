// The query page: YASGUI on this server's /sparql, one tab per saved query, completions from this graph.
// Loaded with `defer` after the vendored yasgui.min.js; the page works without it (plain form).
(function () {
  "use strict";
  var host = document.getElementById("yasgui");
  if (!host || typeof Yasgui === "undefined") {
    return; // the plain form stays in charge
  }
  var examples = JSON.parse(document.getElementById("reekg-examples").textContent);
  var endpoint = new URL(host.getAttribute("data-endpoint"), document.baseURI).href;
  var vocabularyUrl = host.getAttribute("data-vocabulary");
  var suggestUrl = host.getAttribute("data-suggest");
  var prefixes = JSON.parse(document.getElementById("reekg-prefixes").textContent);
  var idNamespace = prefixes.id;
  var labels = {}; // IRI -> label, for the completion list

  var vocabulary = null;
  function loadVocabulary() {
    if (!vocabulary) {
      vocabulary = fetch(vocabularyUrl, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { classes: [], properties: [] }; })
        .then(function (v) {
          v.classes.concat(v.properties).forEach(function (t) { if (t.label) labels[t.iri] = t.label; });
          return v;
        });
    }
    return vocabulary;
  }

  // The namespace and local part of what is typed: "reekg:Rob" -> [ontology#, "Rob"]; "<https://…/Rob" -> [, iri].
  function typed(yasqe, token) {
    var text = token.string.trim();
    if (text.charAt(0) === "<") return { namespace: "", local: text.replace(/^<|>$/g, ""), iri: true };
    var colon = text.indexOf(":");
    if (colon < 0) return { namespace: "", local: text, iri: false };
    var name = text.slice(0, colon);
    var known = Object.assign({}, prefixes, yasqe.getPrefixesFromQuery());
    return { namespace: known[name] || "", prefix: name, local: text.slice(colon + 1), iri: false };
  }

  // A full IRI as the editor writes it: a prefixed name (declaring the prefix when the query lacks it).
  function written(yasqe, iri) {
    var best = null;
    Object.keys(prefixes).forEach(function (p) {
      if (iri.indexOf(prefixes[p]) === 0 && (!best || prefixes[p].length > prefixes[best].length)) best = p;
    });
    var local = best === null ? "" : iri.slice(prefixes[best].length);
    if (best === null || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(local)) return "<" + iri + ">";
    if (!yasqe.getPrefixesFromQuery()[best]) {
      var declared = {};
      declared[best] = prefixes[best];
      yasqe.addPrefixes(declared);
    }
    return best + ":" + local;
  }

  // The written form keeps the IRI's label, so that the list can show it.
  function labelled(text, iri) {
    if (labels[iri]) labels[text] = labels[iri];
    return text;
  }

  function matching(terms, what) {
    var needle = what.local.toLowerCase();
    return terms.filter(function (t) {
      if (what.namespace && t.iri.indexOf(what.namespace) !== 0) return false;
      var local = t.iri.slice(what.namespace.length).toLowerCase();
      return local.indexOf(needle) >= 0 || (t.label || "").toLowerCase().indexOf(needle) >= 0;
    }).map(function (t) { return t.iri; });
  }

  function withLabels(yasqe, hints) {
    hints.forEach(function (h) {
      if (labels[h.text]) h.displayText = h.text + " — " + labels[h.text];
    });
    return hints;
  }

  function termCompleter(base, name, listName) {
    Yasgui.Yasqe.forkAutocompleter(base, {
      name: name,
      bulk: false,
      get: function (yasqe, token) {
        var what = typed(yasqe, token);
        return loadVocabulary().then(function (v) { return matching(v[listName], what).slice(0, 50); });
      },
      preProcessToken: function (yasqe, token) { return token; },
      postProcessSuggestion: function (yasqe, token, iri) { return labelled(written(yasqe, iri), iri); },
      postprocessHints: function (yasqe, hints) { return withLabels(yasqe, hints); },
    }, false);
  }

  // Prefixes: the ones this endpoint predeclares (the stock list asks prefix.cc).
  Yasgui.Yasqe.forkAutocompleter("prefixes", {
    name: "reekg-prefixes",
    persistenceId: null,
    get: function () {
      return Promise.resolve(Object.keys(prefixes).sort().map(function (p) { return p + ": <" + prefixes[p] + ">"; }));
    },
  }, false);
  // Classes after "a" (and rdfs:domain/range), properties in predicate position: from the ontology.
  termCompleter("class", "reekg-classes", "classes");
  termCompleter("property", "reekg-properties", "properties");
  // Entities (…/id/{kind}/{id}): the browser's suggestions over labels in en, zh-Hant, zh-Hans and ids.
  Yasgui.Yasqe.registerAutocompleter({
    name: "reekg-entities",
    bulk: false,
    autoShow: true,
    isValidCompletionPosition: function (yasqe) {
      var token = yasqe.getCompleteToken();
      var what = typed(yasqe, token);
      var namespace = what.iri ? what.local : what.namespace;
      return what.local.length > 0 && !!idNamespace && namespace.indexOf(idNamespace) === 0;
    },
    get: function (yasqe, token) {
      var what = typed(yasqe, token);
      var full = what.iri ? what.local : what.namespace + what.local;
      var q = what.iri ? full.slice(full.lastIndexOf("/") + 1) : what.local;
      var scope = what.iri ? full.slice(0, full.lastIndexOf("/") + 1) : what.namespace;
      if (!q) return Promise.resolve([]);
      return fetch(suggestUrl + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (answer) {
          return answer.suggestions.filter(function (s) { return s.iri.indexOf(scope) === 0; }).map(function (s) {
            if (s.label) labels[s.iri] = s.label;
            return s.iri;
          });
        });
    },
    preProcessToken: function (yasqe, token) { return token; },
    postProcessSuggestion: function (yasqe, token, iri) { return labelled(written(yasqe, iri), iri); },
    postprocessHints: function (yasqe, hints) { return withLabels(yasqe, hints); },
  }, false);
  // Only completers that stay on this server (the stock class and property ones ask lov.linkeddata.es).
  Yasgui.Yasqe.defaults.autocompleters = ["variables", "reekg-prefixes", "reekg-classes", "reekg-properties",
                                          "reekg-entities"];

  host.hidden = false;
  var yasgui = new Yasgui(host, {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    // The tabs are the saved queries every time the page opens (no stale copies from localStorage).
    persistenceId: null,
    autoAddOnInit: examples.length === 0,
    // Results show prefixed names for every prefix the endpoint predeclares, not only those the query writes.
    yasr: { prefixes: prefixes },
    endpointCatalogueOptions: {
      getData: function () { return [{ endpoint: endpoint }]; },
    },
  });
  examples.forEach(function (example, index) {
    yasgui.addTab(index === 0, {
      name: example.name, // the short name; the title is in the list below and in the query's first line
      yasqe: { value: example.query },
      requestConfig: { endpoint: endpoint },
    });
  });
  // "Open" links of the saved-query list switch to that query's tab instead of leaving the page.
  document.querySelectorAll("a[data-tab]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var name = link.getAttribute("data-tab");
      var ids = yasgui.persistentConfig.getTabs();
      for (var i = 0; i < ids.length; i++) {
        if ((yasgui.persistentConfig.getTab(ids[i]) || {}).name === name) {
          event.preventDefault();
          yasgui.selectTabId(ids[i]);
          host.scrollIntoView();
          return;
        }
      }
    });
  });
  document.getElementById("plain").hidden = true;
  window.reekgYasgui = yasgui; // for the browser tests and the console
})();
