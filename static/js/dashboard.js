// Live progress: poll the run's counters every 2 s until it finishes and its report (reasons,
// charts, unique leads) is computed, then reload once to show the final figures.
(function () {
  const box = document.getElementById("progress");
  if (!box || box.dataset.finished === "1") return;
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
      set("run-status", data.finished && !data.report_ready ? "finishing the report…" : data.status);
      if (data.finished && data.report_ready) { window.location.reload(); return; }
    } catch (err) {
      set("run-status", "reconnecting…");
    }
    setTimeout(tick, 2000);
  }
  setTimeout(tick, 1000);
})();
