// Verify push configuration: while a check is pending, poll its status and update the row.
(function () {
  "use strict";
  const gettext = window.gettext || ((text) => text);
  function render(cell, data) {
    var look = data.pending ? ["", gettext("Checking…")]
      : data.verification === "verified" ? ["ok", gettext("Verified")]
      : data.verification === "failed" ? ["bad", gettext("Failed")]
      : ["warn", gettext("Not verified yet")];
    var pill = document.createElement("span");
    pill.className = "pill " + look[0];
    pill.textContent = look[1];
    cell.textContent = "";
    cell.appendChild(pill);
    if (!data.pending && data.reason) {
      var reason = document.createElement("div");
      reason.className = "small error verify-reason";
      reason.textContent = data.reason;
      cell.appendChild(reason);
    }
    if (!data.pending && data.verified_at_text) {
      var when = document.createElement("div");
      when.className = "small muted";
      when.textContent = gettext("checked") + " " + data.verified_at_text;
      cell.appendChild(when);
    }
  }
  function poll(row, delay) {
    fetch(row.dataset.verifyStatus, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        render(row.querySelector(".verify-cell"), data);
        if (data.pending) setTimeout(function () { poll(row, Math.min(delay * 1.5, 5000)); }, delay);
      })
      .catch(function () { setTimeout(function () { poll(row, 5000); }, 5000); });
  }
  document.querySelectorAll('tr[data-pending="1"][data-verify-status]').forEach(function (row) {
    if (row.dataset.verifyStatus) poll(row, 700);
  });
})();
