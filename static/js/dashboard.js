// 工作台图表: draws every <canvas data-chart="KEY"> from the JSON block #dashboard-charts with
// the vendored Chart.js. The same numbers are in the tables beside each chart. Colours and
// font size follow the page's CSS variables, so 大字模式 / 高对比度 redraw the charts.
(function () {
  "use strict";
  var instances = [];

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function tones() {
    return {
      ok: cssVar("--chart-ok", "#1b7f3a"),
      warn: cssVar("--chart-warn", "#b86e00"),
      bad: cssVar("--chart-bad", "#b3261e"),
      neutral: cssVar("--chart-neutral", "#0b57d0"),
      muted: cssVar("--chart-muted", "#6b7280")
    };
  }

  function build(canvas, spec) {
    var colours = tones();
    var stacked = Boolean(spec.stacked);
    var datasets = spec.datasets.map(function (ds) {
      var colour = spec.tones
        ? spec.tones.map(function (t) { return colours[t] || colours.neutral; })
        : colours[ds.tone] || colours.neutral;
      return {
        label: ds.label,
        data: ds.data,
        backgroundColor: colour,
        borderColor: cssVar("--fg", "#1f2329"),
        borderWidth: document.documentElement.classList.contains("gm-high-contrast") ? 1 : 0
      };
    });
    var valueAxis = { beginAtZero: true, stacked: stacked, ticks: { precision: 0 } };
    var categoryAxis = { stacked: stacked, ticks: { autoSkip: false } };
    return new window.Chart(canvas, {
      type: spec.type || "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: datasets.length > 1 } },
        scales: spec.horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis }
      }
    });
  }

  function render(specs) {
    instances.forEach(function (chart) { chart.destroy(); });
    instances = [];
    var Chart = window.Chart;
    var rootSize = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    Chart.defaults.font.size = Math.round(rootSize * 0.8);
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = cssVar("--fg", "#1f2329");
    Chart.defaults.borderColor = cssVar("--line", "#d9dde3");
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = specs[canvas.getAttribute("data-chart")];
      if (spec) {
        var box = canvas.closest(".chart-box");
        if (box) {
          box.hidden = false; // pages that hide their chart boxes without JavaScript (考评)
        }
        instances.push(build(canvas, spec));
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var node = document.getElementById("dashboard-charts");
    if (!node || typeof window.Chart === "undefined") {
      return; // the tables carry every number
    }
    var specs = JSON.parse(node.textContent);
    render(specs);
    new MutationObserver(function () { render(specs); }).observe(document.documentElement, {
      attributes: true,
      attributeFilter: ["class"]
    });
  });
})();
