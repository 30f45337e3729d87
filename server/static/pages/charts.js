/* Charts of the web pages (server/pages.py), drawn with Apache ECharts (static/vendor/echarts).
 *
 * Progressive enhancement: each chart container names a <script type="application/json"> block that the
 * server wrote with Jinja's tojson; the page's tables already hold the same data as text. Labels from the
 * graph are drawn as SVG text and the tooltips as rich text (renderMode "richText"), never as HTML, and a
 * click only follows a same-origin path the server built ("/doc/…").
 */
(function () {
  "use strict";

  var CUT = "#a1001f";
  var PALETTE = ["#0b5cad", "#c2410c", "#15803d", "#7e22ce", "#a16207", "#0e7490", "#be185d", "#4d7c0f",
                 "#1e3a8a", "#9a3412", "#115e59", "#6b21a8", "#854d0e", "#334155", "#b91c1c", "#3f6212"];

  function readData(el) {
    var block = document.getElementById(el.getAttribute("data-source"));
    return block ? JSON.parse(block.textContent) : null;
  }

  function follow(href) {
    // Only this site's own paths: never a scheme such as javascript:, never another host.
    if (typeof href === "string" && href.charAt(0) === "/" && href.charAt(1) !== "/") {
      window.location.assign(href);
    }
  }

  // A share (0–1) for people, as the server writes it (pages.percent): "69.2 %", "0.18 %", "< 0.01 %".
  function percent(v) {
    if (v == null) return "no data";
    var p = v * 100;
    var text = p === 0 ? "0" : Math.abs(p) < 0.01 ? "< 0.01" :
      Math.abs(p) < 1 ? String(Number(p.toFixed(2))) : String(Number(p.toFixed(1)));
    return text + "\u00a0%";
  }

  // Sankey geometry: labels 12px high never overlap when nodes of a column are at least NODE_GAP apart
  // (a label is centred on its node), and never reach the next column when cut to the space between columns.
  var NODE_GAP = 16, NODE_WIDTH = 14, LABEL_SIZE = 12, HEADER_TOP = 44, RIGHT = 160, LEFT = 8;

  function sankeyHeight(nodes) {
    var perColumn = {};
    nodes.forEach(function (n) { perColumn[n.depth] = (perColumn[n.depth] || 0) + 1; });
    var tallest = Math.max.apply(null, Object.keys(perColumn).map(function (k) { return perColumn[k]; }));
    return Math.max(520, tallest * (NODE_GAP + 10) + HEADER_TOP + 120);
  }

  function columnSpace(el, data) {
    var deepest = Math.max.apply(null, data.nodes.map(function (n) { return n.depth; }));
    return deepest > 0 ? (el.clientWidth - LEFT - RIGHT - NODE_WIDTH) / deepest : el.clientWidth;
  }

  function linkTooltip(d) {
    var basis = d.basis === "share" ? "of world output at its stage" : "of the stage's paths";
    return d.sourceLabel + " → " + d.targetLabel + "\n" + d.hop + ": " + percent(d.weight) + " " + basis +
      ", " + d.paths + " paths" + (d.sources.length ? "\nsource: " + d.sources.join(", ") + " (click to open)" : "");
  }

  // One header per column, above the nodes the layout placed there.
  function headers(chart, data, space) {
    var layout = chart.getModel().getSeriesByIndex(0).getData();
    var xs = {};
    for (var i = 0; i < layout.count(); i++) {
      var depth = data.nodes[i].depth, at = layout.getItemLayout(i);
      if (at && (xs[depth] == null || at.x < xs[depth])) xs[depth] = at.x;
    }
    return (data.headers || []).filter(function (h) { return xs[h.depth] != null; }).map(function (h) {
      return {type: "text", left: LEFT + xs[h.depth], top: 4, silent: true, name: "header-" + h.depth,
              style: {text: h.label, fill: "#1a1a1a", font: "bold 12px sans-serif",
                      width: Math.max(40, space - 8), overflow: "break", lineHeight: 15}};
    });
  }

  function sankey(el, data) {
    el.style.height = sankeyHeight(data.nodes) + "px";
    var space = columnSpace(el, data);
    var chart = echarts.init(el, null, {renderer: "svg"});
    chart.setOption({
      aria: {enabled: true},
      color: PALETTE,
      tooltip: {
        renderMode: "richText",
        formatter: function (p) {
          if (p.dataType === "edge") return linkTooltip(p.data);
          return p.data.label + " (" + p.data.column + ")";
        }
      },
      series: [{
        type: "sankey",
        left: LEFT, right: RIGHT, top: HEADER_TOP, bottom: 16,
        nodeAlign: "left",
        nodeGap: NODE_GAP,
        nodeWidth: NODE_WIDTH,
        draggable: false,
        emphasis: {focus: "adjacency"},
        lineStyle: {color: "gradient", opacity: 0.35},
        label: {color: "#1a1a1a", fontSize: LABEL_SIZE, lineHeight: LABEL_SIZE + 2,
                width: Math.max(40, Math.min(space, RIGHT) - NODE_WIDTH - 12), overflow: "truncate", ellipsis: "…",
                textBorderColor: "#fff", textBorderWidth: 2,
                formatter: function (p) { return p.data.label; }},
        data: data.nodes.map(function (n) {
          return {name: n.name, label: n.label, column: n.column, href: n.href, depth: n.depth};
        }),
        links: data.links
      }]
    });
    chart.setOption({graphic: headers(chart, data, space)});
    chart.on("click", function (p) { follow(p.data && p.data.href); });
    return chart;
  }

  function bars(el, data) {
    el.style.height = Math.max(320, data.categories.length * 30 + 100) + "px";
    var chart = echarts.init(el, null, {renderer: "svg"});
    chart.setOption({
      aria: {enabled: true, decal: {show: true}},
      color: PALETTE,
      legend: {top: 0, type: "scroll"},
      grid: {left: 16, right: 24, top: 40, bottom: 24, containLabel: true},
      tooltip: {
        renderMode: "richText", trigger: "item",
        formatter: function (p) { return p.name + "\n" + p.seriesName + ": " + percent(p.value); }
      },
      xAxis: {type: "value", max: 1, axisLabel: {formatter: function (v) { return Math.round(v * 100) + "%"; }}},
      yAxis: {
        type: "category", inverse: true, data: data.categories,
        axisLabel: {
          formatter: function (v, i) { return data.controlled[i] ? v + " (controlled)" : v; },
          color: function (v, i) { return data.controlled[i] ? CUT : "#1a1a1a"; },
          fontWeight: "bold"
        }
      },
      series: data.series.map(function (s) {
        var rest = s.name === "not attributed";
        return {type: "bar", stack: "share", name: s.name, data: s.data, barMaxWidth: 22,
                itemStyle: rest ? {color: "#8a8a8a"} : undefined};
      })
    });
    return chart;
  }

  function draw() {
    if (typeof echarts === "undefined") return;
    var kinds = {sankey: sankey, bars: bars};
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var make = kinds[el.getAttribute("data-chart")];
      var data = readData(el);
      if (!make || !data) return;
      var chart = make(el, data);
      el.classList.add("drawn");
      el.setAttribute("data-drawn", "true");
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
