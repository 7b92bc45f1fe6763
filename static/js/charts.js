// Charts drawn from the server's numbers: each <canvas data-chart-source="ID"> reads the JSON that Django's
// json_script put in <script type="application/json" id="ID"> (data, not code: the CSP allows no inline script).
// The JSON: {"labels": [...], "series": [{"label", "values" (decimal strings), "kind", "type"?}], "indexAxis"?}.
(function () {
  "use strict";
  var COLOURS = { gross: "#3451d1", earned: "#3451d1", refunds: "#d92d20", refunded: "#d92d20", net: "#067647" };
  var toNumber = function (value) { return Number(value); };  // display only: amounts stay Decimal on the server
  // A long course name on the category axis, cut to fit beside the bars (the tooltip keeps it whole).
  function shorten(most) {
    return function (value) {
      var label = String(this.getLabelForValue(value));
      return label.length > most ? label.slice(0, most - 1) + "\u2026" : label;
    };
  }
  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart-source"));
    if (!source || typeof window.Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent || "{}");
    var narrow = window.matchMedia("(max-width: 600px)").matches;
    var horizontal = data.indexAxis === "y";
    var rows = (data.labels || []).length;
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels || [],
        datasets: (data.series || []).map(function (series) {
          var colour = COLOURS[series.kind] || "#5b6475";
          return { label: series.label, data: (series.values || []).map(toNumber), type: series.type || "bar",
                   backgroundColor: colour, borderColor: colour, pointRadius: narrow ? 1 : 2 };
        })
      },
      options: {
        responsive: true,
        indexAxis: horizontal ? "y" : "x",
        // A phone gets a taller chart; a horizontal one grows with its rows so each label stays readable.
        aspectRatio: horizontal ? Math.max(narrow ? 0.8 : 1.5, (narrow ? 2.4 : 5) / Math.max(rows, 1)) : (narrow ? 1.1 : 2.6),
        scales: horizontal
          ? { x: { beginAtZero: true }, y: { ticks: { callback: shorten(narrow ? 16 : 40) } } }
          : { y: { beginAtZero: true } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }
  function drawAll() { document.querySelectorAll("canvas[data-chart-source]").forEach(draw); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", drawAll); } else { drawAll(); }
})();
