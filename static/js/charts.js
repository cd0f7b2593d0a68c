// Dashboard charts (uPlot, vendored under static/vendor/uplot): every [data-chart] element
// holds its data in a <script type="application/json"> child, so charts are drawn again
// whenever the figures section is replaced in place (PMCharts.render(root)).
// x = offsets since the run's first send in the chart's unit; one bar series per platform;
// the values under the cursor show in the legend, and the same numbers are in the data table.
(function () {
  const gettext = window.gettext || ((text) => text);
  const COLORS = { iOS: "#1d2939", Android: "#3e63dd" };
  const drawn = new WeakMap();

  function widthOf(el) {
    return Math.max(240, Math.floor(el.getBoundingClientRect().width || el.parentElement.clientWidth || 600));
  }

  function options(spec, width) {
    const bars = uPlot.paths && uPlot.paths.bars;
    const n = spec.series.length;
    // One slot per unit step, a little room at both ends (a one-point run is one slot, not
    // a 0–100 axis), ticks on whole units only.
    const xMin = Math.min(...spec.x), xMax = Math.max(...spec.x);
    return {
      width: width,
      height: 220,
      title: "",
      scales: {
        x: { time: false, auto: false, range: () => [xMin - 0.6, xMax + 0.6] },
        y: { range: (u, min, max) => [0, Math.max(1, max)] },
      },
      axes: [
        {
          label: spec.x_label,
          incrs: [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 1440],
          values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? v + " " + spec.unit : "")),
        },
        { label: spec.y_label || gettext("Pushes"), incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000], values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? v.toLocaleString(document.documentElement.lang || undefined) : "")) },
      ],
      legend: { live: true },
      cursor: { points: { show: false } },
      series: [
        { label: gettext("Time"), value: (u, v) => (v == null ? "–" : Math.round(v) + " " + spec.unit) },
        ...spec.series.map((s, i) => ({
          label: s.label,
          stroke: COLORS[s.label] || "#667085",
          fill: COLORS[s.label] || "#667085",
          width: 0,
          value: (u, v) => (v == null ? "–" : v),
          // side by side: iOS on the left half of the slot, Android on the right
          paths: bars ? bars({ size: [0.8 / n, 48], align: i === 0 ? -1 : 1 }) : undefined,
          points: { show: false },
        })),
      ],
    };
  }

  function draw(el) {
    const script = el.querySelector('script[type="application/json"]');
    if (!script || typeof uPlot === "undefined") return;
    let spec;
    try { spec = JSON.parse(script.textContent); } catch (err) { return; }
    if (!spec.x || !spec.x.length) return;
    const data = [spec.x, ...spec.series.map((s) => s.values)];
    const previous = drawn.get(el);
    if (previous) previous.destroy();
    const plot = new uPlot(options(spec, widthOf(el)), data, el);
    drawn.set(el, plot);
    el.dataset.drawn = "1";
  }

  function render(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(draw);
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      document.querySelectorAll("[data-chart]").forEach((el) => {
        const plot = drawn.get(el);
        if (plot) plot.setSize({ width: widthOf(el), height: 220 });
      });
    }, 150);
  });

  window.PMCharts = { render: render };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => render());
  else render();
})();
