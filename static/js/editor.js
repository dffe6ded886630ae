// Content editor (progressive enhancement: without JavaScript the page is a plain form).
// - 不公开理由 only for a non-disclosure choice; the policy select only for 政策解读.
// - The body becomes a wangEditor 5 rich-text editor (vendored, static/vendor/wangeditor/) that
//   writes its HTML back into the <textarea name=body>; the server sanitises whatever arrives.
// - Images inserted in the body are uploaded (POST /contents/uploads) and added to the media list.
// - Per-platform boxes, counters and 群发/发布 choices are shown only for the chosen platforms.
// - Live character counters per platform (the limits come from the page: editor_limits.py).
// - Several files at once, checked against MEDIA_MAX_MB and the per-content count before sending.
// - Drafts are saved in the background (POST /contents/autosave) when something changed.
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

  // ------------------------------------------------------------------ chosen platforms

  function chosenPlatforms(form) {
    var platforms = {};
    form.querySelectorAll("input[name=target_ids]:checked").forEach(function (box) {
      var group = box.closest("fieldset[data-platform]");
      if (group) { platforms[group.getAttribute("data-platform")] = true; }
    });
    return platforms;
  }
  function chosenTargets(form) {
    var ids = {};
    form.querySelectorAll("input[name=target_ids]:checked").forEach(function (box) { ids[box.value] = true; });
    return ids;
  }
  function updatePlatforms(form) {
    var platforms = chosenPlatforms(form);
    var any = Object.keys(platforms).length > 0;
    document.querySelectorAll(".counter-box[data-platform]").forEach(function (box) {
      show(box, !!platforms[box.getAttribute("data-platform")]);
    });
    var none = document.getElementById("counters-none");
    if (none) { show(none, !any); }
    form.querySelectorAll(".override-box[data-platform]").forEach(function (box) {
      var area = box.querySelector("textarea");
      show(box, !!platforms[box.getAttribute("data-platform")] || (area && area.value.trim() !== ""));
    });
    var targets = chosenTargets(form);
    form.querySelectorAll(".target-choice[data-target]").forEach(function (box) {
      show(box, !!targets[box.getAttribute("data-target")]);
    });
  }

  // ------------------------------------------------------------------ counters

  var URL_RE = /https?:\/\/[^\s<>"'，。！？、）)】]+/g;
  var WIDE_RE = /[^\x00-\xff]/g;
  function weiboLength(text) {
    var urls = text.match(URL_RE) || [];
    var rest = text.replace(URL_RE, "");
    var wide = (rest.match(WIDE_RE) || []).length;
    return 10 * urls.length + wide + Math.ceil((rest.length - wide) / 2);
  }
  function plainText(html) {
    var div = document.createElement("div");
    div.innerHTML = html;
    return (div.textContent || "").replace(/\s+/g, " ").trim();
  }
  function fieldText(form, name) {
    var el = form.querySelector("[name=" + name + "]");
    if (!el) { return ""; }
    return name === "body" ? plainText(el.value) : el.value.trim();
  }
  function updateCounters(form) {
    document.querySelectorAll(".counter[data-counter]").forEach(function (row) {
      var spec = JSON.parse(row.getAttribute("data-counter"));
      var text = "";
      for (var i = 0; i < spec.sources.length && !text; i += 1) { text = fieldText(form, spec.sources[i]); }
      var n = (spec.mode === "weibo" ? weiboLength(text) : text.length) + (spec.extra || 0);
      var out = row.querySelector("output");
      out.textContent = String(n);
      var over = n > spec.max || (spec.min && n < spec.min);
      row.classList.toggle("over", !!over);
      row.setAttribute("data-count", String(n));
      row.setAttribute("data-over", over ? "1" : "0");
    });
  }

  // ------------------------------------------------------------------ uploads

  function checkFiles(input) {
    var note = document.getElementById("new_media-note");
    var maxMb = parseInt(input.getAttribute("data-max-mb"), 10);
    var maxCount = parseInt(input.getAttribute("data-max-count"), 10);
    var current = parseInt(input.getAttribute("data-current-count"), 10) || 0;
    var problems = [];
    if (current + input.files.length > maxCount) {
      problems.push("每篇稿件最多 " + maxCount + " 个图片、视频或附件：已有 " + current + " 个，本次选择了 " +
        input.files.length + " 个，最多还能添加 " + Math.max(0, maxCount - current) + " 个");
    }
    Array.prototype.forEach.call(input.files, function (file) {
      if (file.size > maxMb * 1024 * 1024) {
        problems.push("“" + file.name + "”超过 " + maxMb + " MB 的上限，请压缩后重新上传");
      }
    });
    if (note) {
      note.textContent = problems.join("；");
      note.hidden = problems.length === 0;
    }
    input.setCustomValidity(problems.join("；"));
    return problems.length === 0;
  }

  function csrfToken() {
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.getAttribute("content") : "";
  }

  function addMediaItem(form, item) {
    var count = form.querySelector("input[name=media_count]");
    var i = parseInt(count.value, 10) || 0;
    ["sha256", "name", "content_type", "role"].forEach(function (key) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "media_" + i + "_" + key;
      input.value = item[key] || "";
      form.appendChild(input);
    });
    var alt = document.createElement("input");
    alt.type = "hidden";
    alt.name = "media_" + i + "_alt";
    alt.value = item.alt || "";
    form.appendChild(alt);
    count.value = String(i + 1);
  }

  // ------------------------------------------------------------------ rich text

  function richText(form, onChange) {
    var area = form.querySelector("textarea[name=body]");
    var box = document.getElementById("body-rich");
    var lib = window.wangEditor;
    if (!area || !box || !lib || !lib.createEditor) { return null; }
    box.hidden = false;
    var label = form.querySelector("label[for=body]");
    if (label) { label.id = "body-label"; label.removeAttribute("for"); }
    var editor = lib.createEditor({
      selector: "#body-editable",
      html: area.value || "<p><br></p>",
      mode: "default",
      config: {
        placeholder: "在此输入或粘贴正文（可粘贴 Word、WPS、秀米、135 排版内容）",
        autoFocus: false,
        scroll: false,
        onChange: function (ed) {
          area.value = ed.isEmpty() ? "" : ed.getHtml();
          onChange();
        },
        MENU_CONF: {
          uploadImage: {
            customUpload: function (file, insertFn) {
              var data = new FormData();
              data.append("file", file);
              return fetch(form.getAttribute("data-upload-url"), {
                method: "POST", body: data, credentials: "same-origin",
                headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
              }).then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
                .then(function (res) {
                  if (!res.ok) { window.alert(res.body.error ? res.body.error.message : "图片上传失败"); return; }
                  addMediaItem(form, { sha256: res.body.sha256, name: res.body.name, content_type: res.body.content_type, role: "image", alt: "" });
                  insertFn(res.body.url, res.body.name, "");
                  onChange();
                });
            }
          }
        }
      }
    });
    lib.createToolbar({
      editor: editor,
      selector: "#body-toolbar",
      mode: "simple",
      config: {
        toolbarKeys: ["headerSelect", "bold", "italic", "underline", "through", "|", "bulletedList", "numberedList",
          "blockquote", "|", "insertLink", "uploadImage", "insertTable", "|", "clearStyle", "undo", "redo"]
      }
    });
    // the toolbar's buttons show their names only as tooltips: give them accessible names
    function nameButtons() {
      box.querySelectorAll("#body-toolbar button[data-tooltip]:not([aria-label])").forEach(function (b) {
        if (!b.textContent.trim()) { b.setAttribute("aria-label", b.getAttribute("data-tooltip")); }
      });
    }
    nameButtons();
    if (window.MutationObserver) {
      new MutationObserver(nameButtons).observe(document.getElementById("body-toolbar"), { childList: true, subtree: true });
    }
    // Tab leaves the editor (wangEditor would insert spaces: a keyboard trap), Shift+Tab goes back
    box.addEventListener("keydown", function (event) {
      if (event.key === "Tab" && !event.ctrlKey && !event.altKey && !event.metaKey &&
          event.target.closest && event.target.closest("[contenteditable]")) {
        event.stopPropagation();
      }
    }, true);
    var editable = box.querySelector("[contenteditable]");
    if (editable) {
      editable.setAttribute("aria-labelledby", "body-label");
      editable.setAttribute("aria-describedby", "body-hint");
      editable.setAttribute("role", "textbox");
      editable.setAttribute("aria-multiline", "true");
    }
    area.hidden = true;
    area.style.display = "none";
    area.setAttribute("aria-hidden", "true");
    area.tabIndex = -1;
    window.govmediaEditor = editor;
    return editor;
  }

  // ------------------------------------------------------------------ autosave

  function two(n) { return (n < 10 ? "0" : "") + n; }
  function autosave(form, state) {
    var status = document.getElementById("autosave-status");
    var url = form.getAttribute("data-autosave-url");
    var seconds = parseInt(form.getAttribute("data-autosave-seconds"), 10) || 30;
    if (!url || form.getAttribute("data-autosave") === "off") { return; }
    function save() {
      if (!state.dirty || state.saving) { return; }
      var title = form.querySelector("[name=title]");
      if (!form.getAttribute("data-content-id") && (!title || !title.value.trim())) { return; }
      var data = new FormData(form);
      data.delete("new_media");
      data.delete("fix");
      data.set("action", "autosave");
      state.saving = true;
      state.dirty = false;
      fetch(url, { method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" } })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          state.saving = false;
          if (!res.ok) {
            if (status) { status.textContent = "未自动保存：" + (res.body.error ? res.body.error.message : "请手动保存"); }
            if (res.body.error && res.body.error.code === "not_autosaved") { form.setAttribute("data-autosave", "off"); }
            return;
          }
          if (status) { status.textContent = res.body.message; }
          if (!form.getAttribute("data-content-id")) {
            // the new draft exists now: later saves and autosaves edit it, never create another
            form.setAttribute("data-content-id", String(res.body.content_id));
            form.querySelector("input[name=content_id]").value = String(res.body.content_id);
            form.setAttribute("action", res.body.edit_url);
            if (window.history && window.history.replaceState) { window.history.replaceState(null, "", res.body.edit_url); }
          }
        })
        .catch(function () {
          state.saving = false;
          state.dirty = true;
          if (status) { status.textContent = "自动保存失败（网络问题），稍后重试；也可手动保存"; }
        });
    }
    window.setInterval(save, seconds * 1000);
    window.govmediaAutosave = save;
  }

  // ------------------------------------------------------------------ live preview

  // What each chosen platform will show, re-rendered by the server (the adapters' own render) a
  // moment after typing stops; nothing is saved. The latest answer wins.
  function livePreview(form) {
    var box = document.getElementById("live-preview");
    var status = document.getElementById("live-preview-status");
    if (!box || !box.getAttribute("data-preview-url")) { return function () {}; }
    var timer = null;
    var asked = 0;
    function refresh() {
      var data = new FormData(form);
      data.delete("new_media");
      data.delete("fix");
      data.set("action", "preview");
      var mine = ++asked;
      box.setAttribute("aria-busy", "true");
      fetch(box.getAttribute("data-preview-url"), { method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" } })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (mine !== asked) { return; }
          box.setAttribute("aria-busy", "false");
          if (!res.ok) {
            if (status) { status.textContent = "预览未更新：" + (res.body.error ? res.body.error.message : "请稍后重试"); }
            return;
          }
          box.innerHTML = res.body.html;
          if (status) {
            status.textContent = res.body.platforms.length
              ? "预览已更新（北京时间 " + res.body.updated_at + "，尚未保存）"
              : "选择发布账号后，这里显示各平台的发布预览。";
          }
        })
        .catch(function () {
          if (mine !== asked) { return; }
          box.setAttribute("aria-busy", "false");
          if (status) { status.textContent = "预览未更新（网络问题），继续输入后会再试"; }
        });
    }
    return function () {
      if (timer) { window.clearTimeout(timer); }
      timer = window.setTimeout(refresh, 700);
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.editor");
    if (!form) { return; }
    var state = { dirty: false, saving: false };
    var preview = livePreview(form);
    function changed() {
      state.dirty = true;
      updateCounters(form);
      preview();
    }
    form.addEventListener("change", function () { update(form); updatePlatforms(form); changed(); });
    // a new draft shown again (after a refused save): preview what it holds
    if (!form.getAttribute("data-content-id") && form.querySelector("[name=target_ids]:checked")) { preview(); }
    form.addEventListener("input", changed);
    update(form);
    updatePlatforms(form);
    richText(form, changed);
    updateCounters(form);
    autosave(form, state);

    var files = document.getElementById("new_media");
    if (files) { files.addEventListener("change", function () { checkFiles(files); }); }
    form.addEventListener("submit", function (event) {
      if (files && files.files.length && !checkFiles(files)) { event.preventDefault(); files.focus(); }
    });

    // the jump list: move focus to the hit under its field
    document.querySelectorAll("a[data-jump]").forEach(function (link) {
      link.addEventListener("click", function () {
        var target = document.querySelector(link.getAttribute("href"));
        if (target) { window.setTimeout(function () { target.focus(); }, 0); }
      });
    });

    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
})();
