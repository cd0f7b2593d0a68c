// Sample send: poll the run's JSON status until every device is in a terminal state.
(function () {
  "use strict";
  var box = document.getElementById("sample-status");
  if (!box || box.dataset.done === "1") return;
  var PILL = { sent: "ok", failed: "bad", token_invalid: "bad", skipped: "warn" };
  function render(data) {
    data.deliveries.forEach(function (row) {
      var cell = box.querySelector('tr[data-delivery="' + row.delivery_id + '"] .sample-state');
      if (!cell) return;
      cell.textContent = "";
      var pill = document.createElement("span");
      pill.className = "pill " + (PILL[row.status] || "");
      pill.textContent = row.status_label;
      cell.appendChild(pill);
      if (row.reason) {
        var reason = document.createElement("span");
        reason.className = "small muted";
        reason.textContent = " " + row.reason;
        cell.appendChild(reason);
      }
    });
    box.dataset.done = data.done ? "1" : "0";
  }
  function poll(delay) {
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        render(data);
        if (!data.done) setTimeout(function () { poll(Math.min(delay * 1.5, 4000)); }, delay);
      })
      .catch(function () { setTimeout(function () { poll(4000); }, 4000); });
  }
  poll(500);
})();
