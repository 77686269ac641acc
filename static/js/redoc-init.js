/* Starts ReDoc on the API's /api/redoc/ page from the schema address and settings the page carries
 * as data attributes, so the page needs no inline script (Content Security Policy). */
(function () {
  "use strict";
  var container = document.getElementById("redoc-container");
  if (!container || !window.Redoc) return;
  var settings = {};
  try {
    settings = JSON.parse(container.dataset.settings || "{}") || {};
  } catch (error) {
    settings = {};
  }
  window.Redoc.init(container.dataset.schemaUrl, settings, container);
})();
