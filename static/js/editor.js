// Content editor: show the 不公开理由 field only for a non-disclosure choice, and the policy
// select only for 政策解读. Without JavaScript every field simply stays visible.
(function () {
  "use strict";
  function checkedDisclosure(form) {
    var checked = form.querySelector("input[name=disclosure]:checked");
    return checked ? checked.value : "active";
  }
  function show(el, visible) {
    // .field is display:flex, which would override the hidden attribute on its own.
    el.hidden = !visible;
    el.style.display = visible ? "" : "none";
  }
  function update(form) {
    var reason = form.querySelector("[data-show-unless-disclosure]");
    if (reason) {
      show(reason, checkedDisclosure(form) !== reason.getAttribute("data-show-unless-disclosure"));
    }
    var policy = form.querySelector("[data-show-when-kind]");
    var kind = form.querySelector("select[name=kind]");
    if (policy && kind) {
      show(policy, kind.value === policy.getAttribute("data-show-when-kind"));
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.editor");
    if (!form) { return; }
    form.addEventListener("change", function () { update(form); });
    update(form);
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
})();
