"use strict";
// The usage report's charts (Chart.js, vendored), drawn from the JSON the page embeds with
// json_script. An external file, not an inline script, so a strict CSP allows it.
(function () {
  const source = document.getElementById("chart-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  new Chart(document.getElementById("daily-spend"), {
    type: data.daily_type,
    data: {labels: data.days, datasets: [{label: "USD per day", data: data.daily_spend, maxBarThickness: 48}]},
    options: {scales: {y: {beginAtZero: true}}},
  });
  new Chart(document.getElementById("model-spend"), {
    type: "bar",
    data: {labels: data.models, datasets: [{label: "USD per model", data: data.model_spend, maxBarThickness: 48}]},
    options: {scales: {y: {beginAtZero: true}}},
  });
})();
