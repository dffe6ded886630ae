// 发布日历: drag a post to another day (or hour, in the week and day views) to reschedule it.
// A day keeps the post's time of day, an hour slot its minutes; the same operation as the 改期 form beside each post
// (POST /api/v1/contents/{id}/reschedule, cookie session + CSRF header). On success the
// page reloads and shows the post on its new day; a refusal (past time, wrong state) is
// read out in #cal-status in Chinese, as the API words it.
// Mouse: HTML5 drag and drop. Touch and pen (phones, tablets): pointer events on the post's
// handle “⠿” (touch-action:none there, so the page still scrolls everywhere else): a copy of
// the post follows the finger, the slot under it is outlined, the page scrolls near the screen's
// edges, and lifting the finger over a slot moves the post there.
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

  function move(item, slot) {
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
  }

  function clearOver() {
    document.querySelectorAll(".drop-over").forEach(function (el) { el.classList.remove("drop-over"); });
  }

  // touch and pen: drag by the handle with pointer events
  function touchDrag(item) {
    var grip = item.querySelector(".cal-grip");
    if (!grip) return;
    var state = null;
    function slotAt(x, y) {
      var el = document.elementFromPoint(x, y);
      return target(el);
    }
    function edgeScroll() {
      if (!state) return;
      var margin = 60;
      var step = 0;
      if (state.y < margin) step = -12;
      else if (state.y > window.innerHeight - margin) step = 12;
      if (step) {
        window.scrollBy(0, step);
        state.over = slotAt(state.x, state.y);
        mark(state.over);
      }
      state.frame = window.requestAnimationFrame(edgeScroll);
    }
    function mark(slot) {
      clearOver();
      if (slot) slot.classList.add("drop-over");
    }
    function place(x, y) {
      state.ghost.style.left = x - state.dx + "px";
      state.ghost.style.top = y - state.dy + "px";
    }
    grip.addEventListener("pointerdown", function (event) {
      if (event.pointerType === "mouse") return; // the mouse uses drag and drop
      event.preventDefault();
      var box = item.getBoundingClientRect();
      var ghost = item.cloneNode(true);
      ghost.classList.add("cal-touch-ghost");
      ghost.removeAttribute("data-content-id");
      ghost.setAttribute("aria-hidden", "true");
      // a picture of the post only: no second 改期 form, no repeated ids
      ghost.querySelectorAll("details, [id]").forEach(function (el) {
        if (el.tagName === "DETAILS") el.remove(); else el.removeAttribute("id");
      });
      ghost.style.width = box.width + "px";
      document.body.appendChild(ghost);
      state = { id: event.pointerId, ghost: ghost, dx: event.clientX - box.left, dy: event.clientY - box.top,
                x: event.clientX, y: event.clientY, over: null, frame: 0 };
      place(event.clientX, event.clientY);
      item.classList.add("dragging");
      try { grip.setPointerCapture(event.pointerId); } catch (e) { /* capture is a nicety */ }
      state.frame = window.requestAnimationFrame(edgeScroll);
    });
    grip.addEventListener("pointermove", function (event) {
      if (!state || event.pointerId !== state.id) return;
      event.preventDefault();
      state.x = event.clientX;
      state.y = event.clientY;
      place(event.clientX, event.clientY);
      state.over = slotAt(event.clientX, event.clientY);
      mark(state.over);
    });
    function finish(event, drop) {
      if (!state || event.pointerId !== state.id) return;
      var slot = drop ? slotAt(event.clientX, event.clientY) || state.over : null;
      window.cancelAnimationFrame(state.frame);
      state.ghost.remove();
      state = null;
      item.classList.remove("dragging");
      clearOver();
      if (slot) move(item, slot);
    }
    grip.addEventListener("pointerup", function (event) { finish(event, true); });
    grip.addEventListener("pointercancel", function (event) { finish(event, false); });
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
        clearOver();
      });
      touchDrag(item);
    });

    document.querySelectorAll("[data-date]").forEach(function (cell) {
      cell.addEventListener("dragover", function (event) {
        if (!dragged) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
        // only the innermost cell under the pointer (an hour slot, not its whole day) is outlined
        cell.classList.toggle("drop-over", target(event.target) === cell);
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
        move(item, slot);
      });
    });
  });
})();
