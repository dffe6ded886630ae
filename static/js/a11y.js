// 适老化/无障碍: 大字模式 and 高对比度 switches, remembered per browser (localStorage).
// Loaded without defer in <head> so the saved classes are on <html> before the first paint.
(function () {
  "use strict";
  var root = document.documentElement;
  var prefs = { font: "gm-large-font", contrast: "gm-high-contrast" };

  function read(key) {
    try {
      return window.localStorage.getItem(key) === "1";
    } catch (e) {
      return root.classList.contains(key); // storage blocked: keep the switch for this page only
    }
  }

  function write(key, on) {
    try {
      window.localStorage.setItem(key, on ? "1" : "0");
    } catch (e) {
      // storage blocked (privacy settings): the switch still works until the page is left
    }
  }

  function apply() {
    Object.keys(prefs).forEach(function (name) {
      var on = read(prefs[name]);
      root.classList.toggle(prefs[name], on);
      document.querySelectorAll('[data-a11y="' + name + '"]').forEach(function (button) {
        button.setAttribute("aria-pressed", on ? "true" : "false");
      });
    });
  }

  apply();
  root.classList.add("gm-js"); // the phone menu collapses only when this script can open it
  document.addEventListener("DOMContentLoaded", function () {
    apply();
    // Phone width: a table not wrapped in .table-scroll is shown as cards (app.css); each cell
    // gets its column's name (data-label) to show beside its value.
    document.querySelectorAll("table.data").forEach(function (table) {
      if (table.closest(".table-scroll") || !table.tHead) return;
      var row = table.tHead.rows[table.tHead.rows.length - 1];
      if (!row) return;
      var names = [];
      for (var i = 0; i < row.cells.length; i++) {
        if (row.cells[i].colSpan > 1) return; // grouped headers: leave the table as it is
        names.push(row.cells[i].textContent.trim());
      }
      Array.prototype.forEach.call(table.tBodies, function (body) {
        Array.prototype.forEach.call(body.rows, function (tr) {
          if (tr.cells.length !== names.length) return;
          Array.prototype.forEach.call(tr.cells, function (cell, n) {
            if (names[n] && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", names[n]);
          });
        });
      });
    });
    // A submit button whose action depends on a choice in the form says what will happen:
    // data-label-by names the <select>, data-label-empty / data-label-chosen the button's label
    // with nothing / something chosen (问题线索: 仅确认（不下发整改） / 确认并下发整改).
    document.querySelectorAll("button[data-label-by]").forEach(function (button) {
      var select = document.getElementById(button.getAttribute("data-label-by"));
      if (!select) return;
      var update = function () {
        button.textContent = button.getAttribute(select.value ? "data-label-chosen" : "data-label-empty");
      };
      select.addEventListener("change", update);
      update();
    });
    // 菜单 button (narrow screens): shows/hides the main navigation, state in aria-expanded
    document.querySelectorAll(".menu-toggle").forEach(function (button) {
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") !== "true";
        button.setAttribute("aria-expanded", open ? "true" : "false");
        var nav = document.getElementById(button.getAttribute("aria-controls"));
        if (nav) nav.classList.toggle("open", open);
      });
    });
    document.querySelectorAll("[data-a11y]").forEach(function (button) {
      button.addEventListener("click", function () {
        var key = prefs[button.getAttribute("data-a11y")];
        var on = !root.classList.contains(key);
        write(key, on);
        root.classList.toggle(key, on);
        document.querySelectorAll('[data-a11y="' + button.getAttribute("data-a11y") + '"]').forEach(function (b) {
          b.setAttribute("aria-pressed", on ? "true" : "false");
        });
      });
    });
  });
})();
