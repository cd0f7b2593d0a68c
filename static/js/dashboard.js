// Live progress: poll the run's counters every 2 s while it sends and until its report
// (reasons, charts, unique leads) is computed; then every 5 s while the page is visible,
// because receipts and taps keep coming after a run ends. The figures section is replaced in
// place each time (open data tables stay open) and its charts are drawn again.
(function () {
  const box = document.getElementById("progress");
  if (!box) return;
  const figures = document.getElementById("dashboard-figures");
  const set = (id, value) => { const el = document.getElementById(id); if (el) el.textContent = value; };
  const FAST = 2000, SLOW = 5000;
  let lastHtml = null;

  function replaceFigures(html) {
    const open = new Set([...figures.querySelectorAll("details[open][data-key]")].map((d) => d.dataset.key));
    if (lastHtml === html) return; // nothing changed: keep the charts as they are
    lastHtml = html;
    figures.innerHTML = html;
    figures.querySelectorAll("details[data-key]").forEach((d) => { if (open.has(d.dataset.key)) d.open = true; });
    if (window.PMCharts) window.PMCharts.render(figures);
  }

  async function tick() {
    if (document.hidden) { setTimeout(tick, SLOW); return; }
    let final = box.dataset.finished === "1";
    try {
      const response = await fetch(box.dataset.url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(response.status);
      const data = await response.json();
      const pct = data.progress_percent;
      document.getElementById("progress-fill").style.width = pct + "%";
      box.querySelector(".progress").setAttribute("aria-valuenow", pct);
      set("progress-percent", pct);
      set("progress-done", data.done);
      set("progress-total", data.deliveries);
      for (const k of ["sent", "failed", "token_invalid", "skipped"]) set("c-" + k, data.total[k]);
      set("c-left", data.deliveries - data.done);
      set("progress-rate", data.rate_per_second ?? "–");
      set("progress-eta", data.eta_seconds != null ? data.eta_seconds + " s" : "–");
      const etaPart = document.getElementById("progress-eta-part");
      if (etaPart) etaPart.hidden = Boolean(data.finished); // a finished run has nothing left to time
      set("run-status", data.finished && !data.report_ready ? (window.gettext ? window.gettext("Finishing the report…") : "Finishing the report…") : data.status_label);
      if (figures && data.figures_html != null) replaceFigures(data.figures_html);
      final = data.finished && data.report_ready;
      box.dataset.finished = final ? "1" : "0";
    } catch (err) {
      set("run-status", window.gettext ? window.gettext("Reconnecting…") : "Reconnecting…");
    }
    setTimeout(tick, final ? SLOW : FAST);
  }
  setTimeout(tick, box.dataset.finished === "1" ? SLOW : 1000);
})();
