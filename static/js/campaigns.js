// Campaign editor (audience rows + live count + field visibility) and progress polling.
(function () {
  "use strict";
  // Words come from the djangojs catalogue (base.html loads it); plain English without it.
  const gettext = window.gettext || ((text) => text);
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
  const interpolate = window.interpolate || ((fmt, obj) => fmt.replace(/%\((\w+)\)s/g, (m, k) => String(obj[k])));
  const LANG = document.documentElement.lang || undefined;
  const num = (n) => Number(n).toLocaleString(LANG);

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "text") node.textContent = v;
      else if (v !== null && v !== undefined) node.setAttribute(k, v);
    });
    (children || []).forEach((c) => node.appendChild(c));
    return node;
  }

  function csrf() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // --- show / hide fields by the value of a select -------------------------------------
  function toggle(selectName, attr) {
    const select = document.querySelector(`[name=${selectName}]`);
    if (!select) return;
    const apply = () => {
      document.querySelectorAll(`[${attr}]`).forEach((node) => {
        node.hidden = !node.getAttribute(attr).split(" ").includes(select.value);
      });
    };
    select.addEventListener("change", apply);
    apply();
  }

  // --- audience rows -------------------------------------------------------------------
  function editor() {
    const configNode = document.getElementById("campaign-editor-config");
    if (!configNode) return;
    const config = JSON.parse(configNode.textContent);
    const hidden = document.querySelector("input[name=audience]");
    const container = document.getElementById("audience-rows");
    const appSelect = document.querySelector("select[name=app]");
    const pushSelect = document.querySelector("select[name=notification]");
    let rows = [];
    try { rows = JSON.parse(hidden.value || "[]"); } catch (e) { rows = []; }

    function pushOptions(selected, anyLabel) {
      const appId = Number(appSelect.value);
      const opts = [el("option", { value: "", text: anyLabel })];
      config.pushes.filter((p) => p.app_id === appId).forEach((p) => {
        const o = el("option", { value: p.id, text: p.name });
        if (Number(selected) === p.id) o.selected = true;
        opts.push(o);
      });
      return opts;
    }

    function input(row, key, attrs) {
      const node = el("input", Object.assign({ type: "text", value: row[key] ?? "" }, attrs));
      node.addEventListener("input", () => {
        const v = node.value.trim();
        if (attrs && attrs.type === "number") row[key] = v === "" ? null : Number(v);
        else row[key] = v;
        if (touched.has(row)) showMissing();
        sync();
      });
      // A row's problem shows once the person leaves one of its fields (or submits).
      node.addEventListener("blur", () => { touched.add(row); showMissing(); });
      return node;
    }

    // What a row still needs before it can count ("" when it is complete).
    function missing(row) {
      const kind = (config.filters[row.field] || {}).kind;
      const blank = (v) => v === undefined || v === null || String(v).trim() === "";
      if (kind === "lead_field" && blank(row.lead_field)) return gettext("Enter the name of a lead field, e.g. City.");
      if ((kind === "text" || kind === "lead_field") && row.op !== "is_empty" && blank(row.value)) return gettext("Enter a value to compare with.");
      return "";
    }

    const touched = new WeakSet();
    let submitted = false;

    function showMissing() {
      container.querySelectorAll(".audience-row").forEach((line, index) => {
        const row = rows[index];
        const problem = row && (submitted || touched.has(row)) ? missing(row) : "";
        let note = line.nextElementSibling;
        if (!note || !note.classList.contains("row-problem")) {
          note = el("p", { class: "error small row-problem", role: "alert" });
          line.after(note);
        }
        note.textContent = problem;
        note.hidden = !problem;
        line.querySelectorAll("input[type=text]").forEach((i) => {
          if (problem) i.setAttribute("aria-invalid", "true"); else i.removeAttribute("aria-invalid");
        });
      });
    }

    // Every generated control needs a name for screen readers (there is no visible label).
    const SELECT_LABELS = { field: gettext("filter"), op: gettext("comparison"), value: gettext("value") };
    function select(row, key, options) {
      const node = el("select", { "aria-label": SELECT_LABELS[key] || key }, options.map(([v, label]) => {
        const o = el("option", { value: v, text: label });
        if (String(row[key] ?? "") === String(v)) o.selected = true;
        return o;
      }));
      node.addEventListener("change", () => {
        row[key] = node.value === "true" ? true : node.value === "false" ? false : node.value;
        if (key === "notification_id") row[key] = node.value ? Number(node.value) : null;
        sync();
      });
      return node;
    }

    function operands(row) {
      const kind = config.filters[row.field].kind;
      const days = () => input(row, "within_days", { type: "number", min: 1, placeholder: gettext("in the last N days (empty: ever)"), "aria-label": gettext("within days") });
      const ops = () => select(row, "op", config.text_ops.map((o) => [o, config.text_op_labels[o] || o.replace("_", " ")]));
      if (kind === "choice") {
        if (row.value === undefined) row.value = "ios";
        return [select(row, "value", [["ios", "iOS"], ["android", "Android"]])];
      }
      if (kind === "bool") {
        if (row.value === undefined) row.value = true;
        return [select(row, "value", [["true", gettext("yes")], ["false", gettext("no")]])];
      }
      if (kind === "app") {
        if (row.value === undefined) row.value = Number(appSelect.value);
        return [select(row, "value", config.apps.map((a) => [a.id, a.name]))];
      }
      if (kind === "text") {
        if (!row.op) row.op = "equals";
        return [ops(), input(row, "value", { placeholder: gettext("value"), "aria-label": gettext("value") })];
      }
      if (kind === "lead_field") {
        if (!row.op) row.op = "equals";
        const list = el("datalist", { id: "lead-fields" }, config.lead_fields.map((f) => el("option", { value: f })));
        return [input(row, "lead_field", { placeholder: gettext("field, e.g. City"), list: "lead-fields", "aria-label": gettext("lead field") }), list, ops(), input(row, "value", { placeholder: gettext("value"), "aria-label": gettext("value") })];
      }
      if (kind === "push") {
        const s = el("select", { "aria-label": gettext("push") }, pushOptions(row.notification_id, gettext("any push")));
        s.addEventListener("change", () => { row.notification_id = s.value ? Number(s.value) : null; sync(); });
        return [s, days()];
      }
      if (row.field === "app_activity") {
        return [input(row, "action_name", { placeholder: gettext("action name"), maxlength: 19, "aria-label": gettext("action name") }), input(row, "action_type", { placeholder: gettext("type"), "aria-label": gettext("action type") }), days()];
      }
      return [days()];
    }

    function render() {
      container.innerHTML = "";
      rows.forEach((row, index) => {
        const fieldSelect = select(row, "field", Object.entries(config.filters).map(([k, f]) => [k, f.label]));
        fieldSelect.addEventListener("change", () => {
          rows[index] = { field: fieldSelect.value, negate: row.negate };
          render(); sync();
        });
        const neg = el("input", { type: "checkbox", "aria-label": gettext("NOT") });
        neg.checked = !!row.negate;
        neg.addEventListener("change", () => { row.negate = neg.checked; sync(); });
        const remove = el("button", { type: "button", class: "btn danger", text: gettext("Remove") });
        remove.addEventListener("click", () => { rows.splice(index, 1); render(); sync(); });
        const line = el("div", { class: "audience-row" }, [
          el("label", { class: "small not" }, [neg, document.createTextNode(" " + gettext("NOT"))]),
          fieldSelect,
        ].concat(operands(row)).concat([remove]));
        container.appendChild(line);
      });
      if (!rows.length) container.appendChild(el("p", { class: "muted", text: gettext("No filters: every device of the app that can receive pushes.") }));
      showMissing();
    }

    const form = document.getElementById("campaign-form");
    if (form) form.addEventListener("submit", (event) => {
      submitted = true;
      showMissing();
      if (rows.some((r) => missing(r))) {
        event.preventDefault();
        const first = container.querySelector("[aria-invalid=true]");
        if (first) first.focus();
      }
    });

    let timer = null;
    function sync() {
      hidden.value = JSON.stringify(rows);
      clearTimeout(timer);
      timer = setTimeout(count, 300);
    }

    function count() {
      const body = document.getElementById("count-body");
      if (!appSelect.value) return;
      fetch(window.CAMPAIGN_COUNT_URL, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        // Rows still being filled in are left out of the count, not reported as errors.
        body: JSON.stringify({ app: Number(appSelect.value), notification: Number(pushSelect.value) || null, audience: rows.filter((r) => !missing(r)) }),
      }).then((r) => r.json()).then((data) => {
        body.innerHTML = "";
        if (data.error) {
          body.appendChild(el("p", { class: "error", text: data.error.message }));
          return;
        }
        body.appendChild(el("p", {}, [
          el("strong", { text: interpolate(ngettext("%(n)s device", "%(n)s devices", data.eligible_devices), { n: num(data.eligible_devices) }, true) }),
          document.createTextNode(" " + interpolate(ngettext("(%(n)s lead) can receive it", "(%(n)s leads) can receive it", data.eligible_leads), { n: num(data.eligible_leads) }, true)),
        ]));
        const unfinished = rows.filter((r) => missing(r)).length;
        if (unfinished) body.appendChild(el("p", { class: "muted small", text: interpolate(ngettext("%(n)s filter is not filled in yet and not counted.", "%(n)s filters are not filled in yet and not counted.", unfinished), { n: unfinished }, true) }));
        body.appendChild(el("p", { class: "muted small", text: interpolate(ngettext("%(n)s device matches the filters.", "%(n)s devices match the filters.", data.matched_devices), { n: num(data.matched_devices) }, true) }));
        const excluded = Object.values(data.excluded).filter((e) => e.count > 0);
        if (excluded.length) {
          body.appendChild(el("p", { class: "small", text: gettext("Left out:") }));
          body.appendChild(el("ul", { class: "small" }, excluded.map((e) => el("li", { text: `${num(e.count)} — ${e.label}` }))));
        }
      }).catch(() => { body.textContent = gettext("Could not count the audience right now."); });
    }

    function pushesForApp() {
      const appId = Number(appSelect.value);
      let visible = 0;
      Array.from(pushSelect.options).forEach((o) => {
        const push = config.pushes.find((p) => String(p.id) === o.value);
        const show = !o.value || (push && push.app_id === appId);
        o.hidden = !show;
        if (show && o.value) visible += 1;
        if (!show && o.selected) pushSelect.value = "";
      });
      const hint = document.getElementById("no-pushes");
      if (hint) hint.hidden = visible > 0;
      // The A/B variant rows offer the same pushes (a control row is always offered).
      document.querySelectorAll("select[name^=ab_variant_]").forEach((variant) => {
        Array.from(variant.options).forEach((o) => {
          if (!o.value || o.value === "control") return;
          const push = config.pushes.find((p) => String(p.id) === o.value);
          o.hidden = !(push && push.app_id === appId);
          if (o.hidden && o.selected) variant.value = "";
        });
      });
    }

    document.getElementById("add-row").addEventListener("click", () => {
      rows.push({ field: "platform", value: "ios", negate: false });
      render(); sync();
    });
    appSelect.addEventListener("change", () => { pushesForApp(); render(); sync(); });
    pushSelect.addEventListener("change", sync);
    pushesForApp();
    render();
    sync();
  }

  // --- scheduling in the browser's time zone -------------------------------------------
  function scheduleZone() {
    const zoneInput = document.querySelector("input[name=schedule_tz]");
    const at = document.querySelector("input[name=schedule_at]");
    if (!zoneInput || !at) return;
    let zone = "UTC";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { zone = "UTC"; }
    zoneInput.value = zone;
    const note = document.getElementById("schedule-tz-note");
    if (note) note.textContent = interpolate(gettext("Time zone: %(zone)s (this browser's). The current minute counts as now."), { zone: zone }, true);
    if (at.dataset.utc && at.value) {
      // A stored time comes as UTC wall-clock; show it in this browser's zone.
      const moment = new Date(at.value.replace(" ", "T").slice(0, 16) + ":00Z");
      if (!Number.isNaN(moment.getTime())) {
        const pad = (n) => String(n).padStart(2, "0");
        at.value = `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}T${pad(moment.getHours())}:${pad(moment.getMinutes())}`;
      }
    }
  }

  // --- progress polling ----------------------------------------------------------------
  function progress() {
    const node = document.getElementById("campaign-progress");
    if (!node) return;
    const url = node.dataset.url;
    const names = ["queued", "pending", "sent", "failed", "token_invalid", "skipped", "tapped"];
    function poll() {
      fetch(url, { headers: { Accept: "application/json" } }).then((r) => r.json()).then((data) => {
        names.forEach((name) => {
          ["all", "ios", "android"].forEach((p) => {
            const cell = node.querySelector(`[data-counter="${name}-${p}"]`);
            if (cell) cell.textContent = num(data.totals[name][p]);
          });
        });
        const total = node.querySelector("[data-counter=total]");
        if (total) total.textContent = num(data.totals.total);
        const status = document.getElementById("campaign-status");
        if (status && status.dataset.status !== data.status) window.location.reload();
        if (["running", "active", "paused", "scheduled"].includes(data.status)) setTimeout(poll, 2000);
      }).catch(() => setTimeout(poll, 5000));
    }
    setTimeout(poll, 2000);
  }

  // A part that only matters while a box is ticked (the A/B test's variants and winner mode).
  function shownByCheckbox() {
    document.querySelectorAll("[data-shown-by]").forEach((part) => {
      const box = document.querySelector(`input[type=checkbox][name=${part.dataset.shownBy}]`);
      if (!box) return;
      const sync = () => { part.hidden = !box.checked; };
      box.addEventListener("change", sync);
      sync();
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    shownByCheckbox();
    toggle("schedule_kind", "data-show-schedule");
    toggle("qualification", "data-show-qualification");
    toggle("trigger_event", "data-show-event");
    editor();
    scheduleZone();
    progress();
  });
})();
