/* The map of sites (server/browse.py, /map), drawn with Apache ECharts' geo component on a vendored world
 * outline (Natural Earth via world-atlas, static/vendor/world-atlas): no tile server, nothing off this origin.
 *
 * Progressive enhancement: the page's table holds the same points as text. The points come from a
 * <script type="application/json"> block the server wrote with tojson; labels are drawn as canvas/SVG text and
 * the tooltips as rich text, never as HTML; a click only follows a same-origin path the server built ("/doc/…").
 */
(function () {
  "use strict";

  function follow(href) {
    if (typeof href === "string" && href.charAt(0) === "/" && href.charAt(1) !== "/") {
      window.location.assign(href);
    }
  }

  function draw(el, data, outline) {
    echarts.registerMap("world", outline);
    var chart = echarts.init(el, null, {renderer: "svg"});
    var byStage = {};
    data.points.forEach(function (p) {
      var stage = p.stages[0] || "unknown";
      (byStage[stage] = byStage[stage] || []).push({
        name: p.label, value: [p.longitude, p.latitude], doc: p.doc, point: p,
        symbol: p.shape, itemStyle: {color: p.colour, borderColor: "#1a1a1a", borderWidth: 1}
      });
    });
    var series = Object.keys(byStage).map(function (stage) {
      return {
        name: stage, type: "scatter", coordinateSystem: "geo", symbolSize: 14, data: byStage[stage],
        itemStyle: {color: (data.stages || {})[stage] || "#4a4a4a"},
        label: {show: true, position: "right", color: "#1a1a1a", fontSize: 12,
                formatter: function (p) { return p.data.name; }},
        emphasis: {scale: 1.4}
      };
    });
    chart.setOption({
      aria: {enabled: true},
      legend: {top: 8, left: 8, data: Object.keys(byStage)},
      tooltip: {
        renderMode: "richText", trigger: "item",
        formatter: function (p) {
          var s = p.data.point;
          return s.label + " (" + s.kind + ")\n" + "stage: " + s.stageLabels.join(", ") + " · status: " +
            s.statusLabel + "\n" + s.latitude + ", " + s.longitude + "\n" + "the point marks: " + s.precision +
            (s.source ? "\nsource: " + s.source : "") + "\n(click to open its page)";
        }
      },
      geo: {
        map: "world", roam: true, zoom: 1.1, silent: true,
        itemStyle: {areaColor: "#eef1f4", borderColor: "#9aa4ae", borderWidth: 0.5}
      },
      series: series
    });
    chart.on("click", function (p) { if (p.data && p.data.doc) { follow(p.data.doc); } });
    window.addEventListener("resize", function () { chart.resize(); });
    el.classList.add("drawn");
    el.setAttribute("data-points", String(data.points.length));
  }

  function start() {
    var el = document.getElementById("site-map");
    if (!el || typeof echarts === "undefined") { return; }
    var block = document.getElementById(el.getAttribute("data-source"));
    var data = block ? JSON.parse(block.textContent) : null;
    if (!data) { return; }
    fetch(data.outline)
      .then(function (r) { if (!r.ok) { throw new Error("outline " + r.status); } return r.json(); })
      .then(function (outline) { draw(el, data, outline); })
      .catch(function (error) { el.setAttribute("data-error", String(error)); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
