// Background job page: follow the job's progress through GET /api/v1/jobs/<id> every 2 s and
// reload the page once it is done or failed, so the server renders the result.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("job");
    if (!box) { return; }
    var url = box.getAttribute("data-job-url");
    var bar = document.getElementById("job-progress");
    var percent = document.getElementById("job-percent");
    var status = document.getElementById("job-status");
    var message = document.getElementById("job-message");
    function update(job) {
      if (job.status === "done" || job.status === "failed") { window.location.reload(); return; }
      status.textContent = job.status_label;
      if (job.total) {
        bar.max = job.total;
        bar.value = job.progress;
        bar.textContent = job.percent + "%";
        percent.textContent = job.percent + "%";
      }
      if (job.message && message.textContent !== job.message) { message.textContent = job.message; }
      window.setTimeout(poll, 2000);
    }
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(update)
        .catch(function () {
          message.textContent = "暂时无法获取进度，稍后自动重试…";
          window.setTimeout(poll, 5000);
        });
    }
    window.setTimeout(poll, 1000);
  });
})();
