// Starts Swagger UI on /api/v1/docs (workflow/server/docs.py): a shipped script instead of the
// inline one FastAPI's page has, which the app's Content-Security-Policy would refuse.
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi"),
    domNode: root,
    deepLinking: true,
    // No badge fetched from swagger.io: the page talks to this server only.
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
})();
