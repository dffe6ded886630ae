// Delivery status: refresh while a delivery is still on its way, with a pause button
// (WCAG 2.2.2). Stops by itself once nothing is pending, sending, retrying or being deleted.
(function () {
  "use strict";
  var OPEN = ["pending", "sending", "retrying", "withdrawing"];  // publishers/delivery_page.OPEN_PAGE_STATES
  var paused = false;
  function stillOpen() {
    var rows = document.querySelectorAll("#deliveries tr[data-status]");
    if (!rows.length) { return document.getElementById("deliveries") !== null; }
    return Array.prototype.some.call(rows, function (r) { return OPEN.indexOf(r.getAttribute("data-status")) >= 0; });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("refresh-toggle");
    var note = document.getElementById("refresh-note");
    if (!stillOpen()) {
      if (button) { button.hidden = true; button.style.display = "none"; }  // .btn's display beats [hidden]
      if (note) { note.textContent = "所有渠道已有结果，页面不再自动刷新。"; }
      return;
    }
    document.addEventListener("input", function () { paused = true; });
    if (button) {
      button.addEventListener("click", function () {
        paused = !paused;
        button.textContent = paused ? "恢复自动刷新" : "暂停自动刷新";
        button.setAttribute("aria-pressed", paused ? "true" : "false");
      });
    }
    setInterval(function () { if (!paused) { window.location.reload(); } }, 5000);
  });
})();
