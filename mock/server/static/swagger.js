// Swagger UI for the served contract, the demo key set. A file, not an inline
// script, so that the page's Content-Security-Policy allows no inline script.
window.onload = function () {
  var settings = JSON.parse(document.getElementById("usagekit-ui").textContent);
  window.ui = SwaggerUIBundle({
    url: settings.spec_url,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    tryItOutEnabled: true,
    displayRequestDuration: true,
    // No badge from validator.swagger.io: it would send the spec's URL there.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
    onComplete: function () {
      // A key the user authorised (persisted by Swagger UI) wins over the demo key.
      var saved = window.localStorage.getItem("authorized");
      if (settings.demo_key && (!saved || saved === "{}")) {
        window.ui.preauthorizeApiKey(settings.scheme, settings.demo_key);
      }
    }
  });
};
