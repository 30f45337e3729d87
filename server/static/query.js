// The query page: YASGUI on this server's /sparql, one tab per saved query (server/queries/*.rq).
// Loaded with `defer` after the vendored yasgui.min.js; the page works without it (plain form).
(function () {
  "use strict";
  var host = document.getElementById("yasgui");
  if (!host || typeof Yasgui === "undefined") {
    return; // the plain form stays in charge
  }
  var examples = JSON.parse(document.getElementById("reekg-examples").textContent);
  var endpoint = new URL(host.getAttribute("data-endpoint"), document.baseURI).href;

  // Only the autocompleters that work offline: "class" and "property" ask lov.linkeddata.es.
  Yasgui.Yasqe.defaults.autocompleters = ["variables", "prefixes"];

  host.hidden = false;
  var yasgui = new Yasgui(host, {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    // The tabs are the saved queries every time the page opens (no stale copies from localStorage).
    persistenceId: null,
    autoAddOnInit: examples.length === 0,
    endpointCatalogueOptions: {
      getData: function () { return [{ endpoint: endpoint }]; },
    },
  });
  examples.forEach(function (example, index) {
    yasgui.addTab(index === 0, {
      name: example.title,
      yasqe: { value: example.query },
      requestConfig: { endpoint: endpoint },
    });
  });
  document.getElementById("plain").hidden = true;
  window.reekgYasgui = yasgui; // for the browser tests and the console
})();
