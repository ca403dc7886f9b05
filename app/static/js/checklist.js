/* The dossier checklist (app/cycle/templates/cycle/application.html) follows its uploads without a reload:
 * when upload.js reports a file pending, accepted or rejected (events "document:<status>" bubbling from the
 * row's upload form), the row's badge changes and the "x / N" count of required documents is recomputed.
 * Texts come from the table's data-msg-* attributes (translated server-side). No inline script (CSP). */
(function () {
  "use strict";
  if (window.ocopChecklistReady) { return; }
  window.ocopChecklistReady = true;
  var CLASSES = { accepted: "tag-accepted", rejected: "tag-rejected", pending: "tag-pending" };

  function recount(section) {
    var rows = section.querySelectorAll('tr[data-required="1"]');
    var done = Array.prototype.filter.call(rows, function (row) {
      return row.getAttribute("data-state") === "accepted" || row.getAttribute("data-state") === "expiring";
    }).length;
    var counter = section.querySelector("[data-checklist-done]");
    if (counter) { counter.textContent = String(done); }
  }

  function update(event, state) {
    var row = event.target.closest("tr");
    var section = event.target.closest("[data-checklist]");
    if (!row || !section) { return; }
    var table = row.closest("table");
    var badge = row.querySelector("[data-badge]");
    if (badge) {
      var tag = window.document.createElement("span");
      tag.className = "tag " + CLASSES[state];
      tag.textContent = table.getAttribute("data-msg-" + state) || state;
      badge.textContent = "";
      badge.appendChild(tag);
    }
    row.setAttribute("data-state", state);
    row.className = "state-" + state;
    recount(section);
  }

  ["accepted", "rejected", "pending"].forEach(function (state) {
    window.document.addEventListener("document:" + state, function (event) { update(event, state); });
  });
}());
