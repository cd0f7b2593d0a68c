// Live progress: poll the run's counters every 2 s while it sends, and keep polling after it
// ends until its report (reasons, charts, unique leads) is computed; the figures are replaced
// in place each time, so the final ones appear without a reload.
(function () {
  const box = document.getElementById("progress");
  if (!box || box.dataset.finished === "1") return;
  const figures = document.getElementById("dashboard-figures");
  const set = (id, value) => { const el = document.getElementById(id); if (el) el.textContent = value; };
  async function tick() {
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
      set("run-status", data.finished && !data.report_ready ? "Finishing the report…" : data.status_label);
      if (figures && data.figures_html != null) figures.innerHTML = data.figures_html;
      if (data.finished && data.report_ready) { box.dataset.finished = "1"; return; }
    } catch (err) {
      set("run-status", "Reconnecting…");
    }
    setTimeout(tick, 2000);
  }
  setTimeout(tick, 1000);
})();
