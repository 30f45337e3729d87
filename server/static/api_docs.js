// /api/v1/docs: Swagger UI (vendored) on this server's OpenAPI document. A file, not an inline script: the page's
// Content-Security-Policy runs scripts from this origin only. "Try it out" sends requests to the document's
// server, which is this origin; validatorUrl null keeps Swagger UI from sending the document to validator.swagger.io.
(function () {
  "use strict";
  var target = document.getElementById("swagger-ui");
  if (!target || typeof window.SwaggerUIBundle !== "function") {
    return; // the bundle did not load: the plain list of routes stays
  }
  target.hidden = false;
  window.SwaggerUIBundle({
    url: target.dataset.openapi,
    domNode: target,
    validatorUrl: null,
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    displayOperationId: true,
    tryItOutEnabled: false,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    onComplete: function () {
      // Swagger UI shows every route: the plain list would only repeat it
      var plain = document.getElementById("routes");
      if (plain) {
        plain.hidden = true;
      }
    },
  });
})();
