// modelpack UI: draws the metric charts (uPlot) of a page. Each .chart element names
// its series URLs (data-sources, JSON) and labels (data-labels); the server has
// already down-sampled long curves and says so in the answer.
(function () {
  "use strict";
  var COLORS = ["#1f5fbf", "#d1495b", "#edae49", "#00798c", "#66a182", "#8a63d2", "#2e4057", "#e07a5f"];

  function note(el, text) {
    var p = el.parentNode.querySelector(".chart-note");
    if (p) { p.textContent = text; }
  }

  function draw(el) {
    if (el.dataset.drawn) { return; }
    el.dataset.drawn = "pending";
    var sources = JSON.parse(el.dataset.sources || "[]");
    var labels = JSON.parse(el.dataset.labels || "[]");
    var width = Math.max(200, Math.floor(el.clientWidth || 600));
    var sep = function (u) { return u.indexOf("?") < 0 ? "?" : "&"; };
    Promise.all(sources.map(function (u) {
      return fetch(u + sep(u) + "width=" + width, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      });
    })).then(function (answers) {
      var tables = answers.map(function (a) { return [a.x, a.y]; });
      var data = tables.length === 1 ? tables[0] : uPlot.join(tables);
      var time = el.dataset.x === "time";
      var series = [{ label: time ? "time" : "step" }].concat(answers.map(function (a, i) {
        return { label: labels[i] || a.key, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true };
      }));
      el.innerHTML = "";
      var plot = new uPlot({ width: width, height: 240, series: series, scales: { x: { time: time } },
                             legend: { show: answers.length <= 12 } }, data, el);
      el.dataset.drawn = "yes";
      el.dataset.series = String(answers.length);
      var cut = answers.filter(function (a) { return a.downsampled; });
      if (cut.length) {
        note(el, "Down-sampled on the server: " + cut.map(function (a) {
          return a.shown + " of " + a.points + " points";
        }).join(", ") + " (min and max per pixel, spikes kept).");
      } else {
        var n = answers.map(function (a) { return a.points; }).reduce(function (s, k) { return s + k; }, 0);
        note(el, n + (n === 1 ? " point." : " points."));
      }
      el._plot = plot;
    }).catch(function (err) {
      el.dataset.drawn = "failed";
      note(el, "The chart could not be loaded (" + err.message + ").");
    });
  }

  function drawAll(root) {
    (root || document).querySelectorAll(".chart[data-sources]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:load", function (evt) { drawAll(evt.target); });
})();
