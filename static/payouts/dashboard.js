// Earnings over time on the payee dashboard: the data sits in the canvas's data-chart attribute (no inline script).
(function () {
  "use strict";
  function draw() {
    var canvas = document.getElementById("earnings-chart");
    if (!canvas || typeof window.Chart === "undefined") { return; }
    var data = JSON.parse(canvas.getAttribute("data-chart") || "{}");
    var toNumber = function (value) { return Number(value); };  // display only: amounts stay Decimal on the server
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels || [],
        datasets: [
          { label: "Earned (" + data.currency + ")", data: (data.earned || []).map(toNumber), backgroundColor: "#3451d1" },
          { label: "Refunded (" + data.currency + ")", data: (data.refunded || []).map(toNumber), backgroundColor: "#d92d20" }
        ]
      },
      options: {
        responsive: true, maintainAspectRatio: false,
        scales: { y: { beginAtZero: true } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
