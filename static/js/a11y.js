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
  document.addEventListener("DOMContentLoaded", function () {
    apply();
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
