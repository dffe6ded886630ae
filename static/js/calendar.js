// 发布日历: drag a post to another day (or hour, in the day view) to reschedule it.
// Keeps the post's time of day; the same operation as the 改期 form beside each post
// (POST /api/v1/contents/{id}/reschedule, cookie session + CSRF header). On success the
// page reloads and shows the post on its new day; a refusal (past time, wrong state) is
// read out in #cal-status in Chinese, as the API words it.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function say(text, kind) {
    var box = document.getElementById("cal-status");
    if (!box) return;
    box.hidden = false;
    box.className = "flash flash-" + kind;
    box.textContent = text;
  }

  function target(el) {
    return el && el.closest ? el.closest("[data-date]") : null;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var dragged = null;
    try {
      var done = window.sessionStorage.getItem("gm-cal-msg");
      if (done) {
        window.sessionStorage.removeItem("gm-cal-msg");
        say(done, "success");
      }
    } catch (e) {
      // storage blocked: nothing to show
    }

    document.querySelectorAll(".cal-item[draggable]").forEach(function (item) {
      item.addEventListener("dragstart", function (event) {
        dragged = item;
        item.classList.add("dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", item.getAttribute("data-content-id"));
      });
      item.addEventListener("dragend", function () {
        item.classList.remove("dragging");
        document.querySelectorAll(".drop-over").forEach(function (el) { el.classList.remove("drop-over"); });
      });
    });

    document.querySelectorAll("[data-date]").forEach(function (cell) {
      cell.addEventListener("dragover", function (event) {
        if (!dragged) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
        cell.classList.add("drop-over");
      });
      cell.addEventListener("dragleave", function (event) {
        if (!cell.contains(event.relatedTarget)) cell.classList.remove("drop-over");
      });
      cell.addEventListener("drop", function (event) {
        event.preventDefault();
        var slot = target(event.target) || cell;
        slot.classList.remove("drop-over");
        if (!dragged) return;
        var item = dragged;
        dragged = null;
        var time = item.getAttribute("data-time"); // HH:MM Beijing
        var hour = slot.getAttribute("data-hour");
        if (hour !== null) time = ("0" + hour).slice(-2) + time.slice(2);
        var when = slot.getAttribute("data-date") + "T" + time + ":00+08:00";
        var title = item.querySelector("a") ? item.querySelector("a").textContent : "";
        say("正在将“" + title + "”改期到 " + slot.getAttribute("data-date") + " " + time + "…", "info");
        fetch(item.getAttribute("data-reschedule"), {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
          body: JSON.stringify({ publish_at: when }),
        })
          .then(function (response) {
            return response.json().then(function (body) { return { ok: response.ok, body: body }; });
          })
          .then(function (result) {
            if (result.ok) {
              try {
                window.sessionStorage.setItem(
                  "gm-cal-msg",
                  "已将“" + title + "”改期到 " + slot.getAttribute("data-date") + " " + time + "（已记录改期，未生成新版本）"
                );
              } catch (e) {
                // storage blocked: the moved post and the 改期记录 still show it
              }
              window.location.reload();
              return;
            }
            var error = (result.body && result.body.error) || {};
            say("未改期：" + (error.message || "请稍后重试"), "error");
          })
          .catch(function () {
            say("未改期：网络连接失败，请稍后重试", "error");
          });
      });
    });
  });
})();
