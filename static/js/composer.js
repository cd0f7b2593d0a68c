/* The push composer: live previews, payload meter, token picker, image upload, Preview-as.
 * The server does every rule (token grammar, truncation, sizes): this file only posts the
 * form state to notification-preview (debounced) and draws the answer into CSS phones. */
(function () {
  "use strict";
  const form = document.getElementById("composer-form");
  const panel = document.getElementById("previews");
  if (!form || !panel) return;

  // Words come from the djangojs catalogue (base.html loads it); plain English without it.
  const gettext = window.gettext || function (text) { return text; };
  const interpolate = window.interpolate || function (fmt, obj) {
    return fmt.replace(/%\((\w+)\)s/g, function (m, k) { return String(obj[k]); });
  };
  // The phones show a fixed moment (Apple's 9:41) in the previewed device's locale, which the
  // preview answer names (the Preview-as lead's device, else the page's language).
  const PHONE_MOMENT = new Date(2026, 0, 13, 9, 41);
  function phoneLocale() {
    return (last && last.locale) || document.documentElement.lang || undefined;
  }
  function clockText() {
    try {
      // Phones show the time without AM/PM on the lock screen and status bar.
      const locale = phoneLocale();
      const cycle = new Intl.DateTimeFormat(locale, { hour: "numeric" }).resolvedOptions().hourCycle;
      // 24-hour locales write the hour on two digits ("09:41"), 12-hour ones do not ("9:41").
      const hour = cycle === "h23" || cycle === "h24" ? "2-digit" : "numeric";
      return new Intl.DateTimeFormat(locale, { hour: hour, minute: "2-digit" })
        .formatToParts(PHONE_MOMENT)
        .filter(function (part) { return part.type !== "dayPeriod"; })
        .map(function (part) { return part.value; })
        .join("")
        .trim();
    } catch (e) {
      return "9:41";
    }
  }

  const PREVIEW_DELAY_MS = 150;
  const SEARCH_DELAY_MS = 200;
  const csrf = () => (form.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
  const views = { android: "expanded", ios: "lock" };
  let last = null;
  let sequence = 0;
  // Errors show for a field once the marketer has left it, and for every field after a submit
  // (a page the server answered with errors counts as submitted). A blank new push is quiet.
  const touched = new Set();
  let submitted = Array.from(form.querySelectorAll("[data-errors-for]")).some(function (box) {
    return box.children.length > 0;
  });

  function debounce(fn, ms) {
    let timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /* ---------- previews ---------- */
  function formState() {
    const data = new FormData(form);
    data.delete("image_file");
    return data;
  }

  async function refresh() {
    const mine = ++sequence;
    panel.classList.add("busy");
    try {
      const response = await fetch(panel.dataset.previewUrl, {
        method: "POST",
        body: formState(),
        headers: { "X-CSRFToken": csrf(), Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const result = await response.json();
      if (mine !== sequence) return; // a newer request is on its way
      last = result;
      draw();
      // The Languages card and the audience table (composer_translations.js) draw from it too.
      panel.dispatchEvent(new CustomEvent("preview", { detail: result }));
    } catch (err) {
      if (mine === sequence) document.getElementById("meter-problems").textContent =
        interpolate(gettext("Previews are unavailable right now (%(error)s). Your text is not lost."), { error: err.message }, true);
    } finally {
      if (mine === sequence) panel.classList.remove("busy");
    }
  }
  const schedule = debounce(refresh, PREVIEW_DELAY_MS);

  function draw() {
    if (!last) return;
    drawErrors(last.errors || {}, last.token_errors || {});
    drawMeter(last.meter);
    drawPlatform("android", last.android);
    drawPlatform("ios", last.ios);
  }

  function drawErrors(errors, tokenErrors) {
    if (form.dataset.readonly) return;
    form.querySelectorAll("[data-errors-for]").forEach(function (box) {
      const name = box.dataset.errorsFor;
      if (name === "image_file" && box.dataset.uploadError) return;
      let list = errors[name] || [];
      if (name === "image_file") list = list.concat(errors.image_name || []);
      if (!list.length && tokenErrors[name]) list = [tokenErrors[name]];
      if (!submitted && !touched.has(name) && name !== "image_file") list = [];
      box.replaceChildren.apply(box, list.map(function (m) { return el("div", "", m); }));
      const input = form.querySelector("[name=" + name + "]");
      if (input) input.setAttribute("aria-invalid", list.length ? "true" : "false");
    });
  }

  function drawMeter(meter) {
    ["android", "ios"].forEach(function (platform) {
      const row = panel.querySelector('[data-meter="' + platform + '"]');
      const data = meter[platform];
      row.hidden = !data;
      if (!data) return;
      row.className = "meter-row level-" + data.level;
      row.querySelector(".meter-bar span").style.width = data.percent + "%";
      const label = data.level === "bad" ? "✕ " : data.level === "warn" ? "! " : "✓ ";
      row.querySelector(".meter-text").textContent = label + data.text;
      row.title = interpolate(gettext("This preview: %(preview)s bytes; worst case: %(worst)s bytes"), { preview: data.preview_bytes, worst: data.bytes }, true);
    });
    document.getElementById("meter-problems").textContent = (meter.problems || []).join(" ");
  }

  function drawPlatform(platform, data) {
    const wrap = document.getElementById("preview-" + platform);
    const screen = wrap.querySelector("[data-screen]");
    wrap.querySelector(".platform-off").hidden = !!data;
    wrap.querySelector(".phone").hidden = !data;
    wrap.querySelector(".seg").hidden = !data;
    wrap.classList.toggle("off", !data);
    if (!data) return;
    wrap.querySelectorAll(".seg button").forEach(function (b) {
      const chosen = b.dataset.view === views[platform];
      b.classList.toggle("on", chosen);
      b.setAttribute("aria-checked", chosen ? "true" : "false");
      b.tabIndex = chosen ? 0 : -1; // one tab stop per phone; the arrow keys move within it
    });
    const view = views[platform];
    screen.className = "screen view-" + view;
    screen.replaceChildren(platform === "android" ? androidView(data, view) : iosView(data, view));
  }

  function clipped(tag, cls, part) {
    const node = el(tag, cls, part.text);
    if (part.truncated) node.classList.add("truncated");
    return node;
  }

  function appIcon(cls, name) {
    if (last && last.app_icon) {
      const img = el("img", cls + " has-img");
      img.src = last.app_icon;
      img.alt = "";
      return img;
    }
    return el("span", cls, (name || "A").trim().charAt(0).toUpperCase());
  }

  /* Android: collapsed (shade), expanded, lock. */
  function androidCard(data, expanded) {
    const card = el("div", "a-card" + (expanded ? " expanded" : ""));
    const head = el("div", "a-head");
    head.append(appIcon("a-icon", data.app_name), el("span", "a-app", data.app_name), el("span", "a-time", "· " + gettext("now")),
      el("span", "a-chevron", expanded ? "⌃" : "⌄"));
    card.append(head);
    const part = expanded ? data.expanded : data.collapsed;
    const row = el("div", "a-row");
    const text = el("div", "a-text");
    if (part.title.text) text.append(clipped("div", "a-title", part.title));
    text.append(clipped("div", "a-body", part.body));
    row.append(text);
    if (data.image && !expanded) {
      const thumb = el("img", "a-thumb");
      thumb.src = data.image;
      thumb.alt = "";
      row.append(thumb);
    }
    card.append(row);
    if (data.image && expanded) {
      const pic = el("img", "a-picture");
      pic.src = data.image;
      pic.alt = gettext("Big picture (2:1 centre crop)");
      card.append(pic);
    }
    return card;
  }

  function androidView(data, view) {
    const frag = document.createDocumentFragment();
    const status = el("div", "statusbar");
    status.append(el("span", "", clockText()), el("span", "", "▾ ▴ ▮"));
    frag.append(status);
    if (view === "lock") {
      frag.append(el("div", "a-clock", clockText()), el("div", "a-date", dateLine()));
      frag.append(androidCard(data, false));
    } else {
      frag.append(el("div", "a-shade-title", dateLine()));
      frag.append(androidCard(data, view === "expanded"));
    }
    return frag;
  }

  /* iOS: lock, home banner, Notification Center, long-press expanded, app in foreground. */
  function iosCard(data, part, withThumb) {
    const card = el("div", "i-card");
    const head = el("div", "i-head");
    head.append(appIcon("i-icon", data.app_name));
    const main = el("div", "i-main");
    const top = el("div", "i-top");
    top.append(el("span", "i-app", data.app_name), el("span", "i-time", gettext("now")));
    main.append(top);
    const row = el("div", "i-row");
    const text = el("div", "i-text");
    if (part.title && part.title.text) text.append(clipped("div", "i-title", part.title));
    if (part.subtitle && part.subtitle.text) text.append(clipped("div", "i-subtitle", part.subtitle));
    text.append(clipped("div", "i-body", part.body));
    row.append(text);
    if (withThumb && data.image) {
      const thumb = el("img", "i-thumb");
      thumb.src = data.image;
      thumb.alt = "";
      row.append(thumb);
    }
    main.append(row);
    head.append(main);
    card.append(head);
    return card;
  }

  function iosView(data, view) {
    const frag = document.createDocumentFragment();
    const status = el("div", "statusbar");
    status.append(el("span", "", "9:41"), el("span", "", "▂▄▆ ◔"));
    frag.append(status);
    if (view === "lock") {
      frag.append(el("div", "i-date", dateLine()), el("div", "i-clock", clockText()));
      frag.append(iosCard(data, data.banner, true));
    } else if (view === "home") {
      frag.append(iosCard(data, data.banner, true));
      const grid = el("div", "i-grid");
      for (let i = 0; i < 16; i++) grid.append(el("span", "i-app-tile"));
      frag.append(grid);
    } else if (view === "center") {
      frag.append(el("div", "i-center-title", gettext("Notification Center")));
      frag.append(iosCard(data, data.banner, true));
      const older = el("div", "i-card older");
      older.append(el("div", "i-body", gettext("Earlier notifications appear below.")));
      frag.append(older);
    } else if (view === "expanded") {
      const card = el("div", "i-card i-expanded");
      if (data.image) {
        const pic = el("img", "i-picture");
        pic.src = data.image;
        pic.alt = gettext("Image, shown full width when long-pressed");
        card.append(pic);
      }
      const body = iosCard(data, {
        title: { text: data.expanded.title }, subtitle: { text: data.expanded.subtitle },
        body: { text: data.expanded.body },
      }, false);
      card.append(body.firstChild);
      frag.append(card);
    } else {
      const app = el("div", "i-inapp");
      const bar = el("div", "i-inapp-bar");
      bar.append(el("span", "", data.app_name));
      app.append(bar);
      const note = el("div", "i-inapp-note", gettext("App open: iOS shows no banner. The app's notification area shows:"));
      app.append(note);
      const item = el("div", "i-inapp-item");
      item.append(el("span", "i-inapp-dot"));
      const text = el("div", "i-text");
      if (data.foreground.title.text) text.append(clipped("div", "i-title", data.foreground.title));
      text.append(clipped("div", "i-body", data.foreground.body));
      item.append(text);
      app.append(item);
      frag.append(app);
    }
    return frag;
  }

  function dateLine() {
    try {
      return PHONE_MOMENT.toLocaleDateString(phoneLocale(), { weekday: "long", day: "numeric", month: "long" });
    } catch (e) {
      return PHONE_MOMENT.toDateString();
    }
  }

  // Each phone's views are a radio group: Tab reaches the chosen one, the arrow keys (and
  // Home / End) choose another, as in any radio group.
  const STEPS = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
  panel.querySelectorAll(".phone-wrap").forEach(function (wrap) {
    const buttons = Array.from(wrap.querySelectorAll(".seg button"));
    function choose(button) {
      views[wrap.dataset.platform] = button.dataset.view;
      draw();
    }
    buttons.forEach(function (button, i) {
      button.addEventListener("click", function () { choose(button); });
      button.addEventListener("keydown", function (e) {
        let next = null;
        if (e.key in STEPS) next = buttons[(i + STEPS[e.key] + buttons.length) % buttons.length];
        else if (e.key === "Home") next = buttons[0];
        else if (e.key === "End") next = buttons[buttons.length - 1];
        if (!next) return;
        e.preventDefault();
        choose(next);
        next.focus();
      });
    });
  });

  /* ---------- form behaviour ---------- */
  form.addEventListener("focusout", function (e) {
    const name = e.target.name;
    if (!name || touched.has(name)) return;
    touched.add(name);
    if (name === "data_key" || name === "data_value") touched.add("custom_data");
    if (name.startsWith("tr_")) touched.add("translations");
    draw();
  });
  form.addEventListener("submit", function () {
    submitted = true;
  });
  form.addEventListener("input", function (e) {
    if (e.target.type !== "file") schedule();
  });
  form.addEventListener("change", function (e) {
    if (e.target.type !== "file") schedule();
  });

  const tapAction = form.querySelector("[name=tap_action]");
  function syncTap() {
    const box = form.querySelector(".tap-uri");
    if (box && tapAction) box.hidden = tapAction.value === "app_home";
  }
  if (tapAction) tapAction.addEventListener("change", syncTap);
  syncTap();

  // Token picker: insert into the token-capable field the marketer last typed in.
  // Delegated: translation rows added later take tokens too.
  let tokenTarget = form.querySelector("[name=message]");
  form.addEventListener("focusin", function (e) {
    if (e.target.dataset && e.target.dataset.tokens) tokenTarget = e.target;
  });
  const insert = document.getElementById("token-insert");
  if (insert) insert.addEventListener("click", function () {
    if (!tokenTarget) return;
    const field = document.getElementById("token-field").value;
    const fallback = document.getElementById("token-default").value.replace(/[{}]/g, "");
    const token = "{{lead." + field + ":default=" + fallback + "}}";
    const start = tokenTarget.selectionStart ?? tokenTarget.value.length;
    const end = tokenTarget.selectionEnd ?? start;
    tokenTarget.setRangeText(token, start, end, "end");
    tokenTarget.focus();
    schedule();
  });

  // Custom data rows.
  const kvBody = document.querySelector("#kv-table tbody");
  const kvAdd = document.getElementById("kv-add");
  if (kvAdd) kvAdd.addEventListener("click", function () {
    const row = kvBody.querySelector("tr").cloneNode(true);
    row.querySelectorAll("input").forEach(function (i) { i.value = ""; });
    kvBody.append(row);
    row.querySelector("input").focus();
  });
  if (kvBody) kvBody.addEventListener("click", function (e) {
    if (!e.target.classList.contains("kv-remove")) return;
    const row = e.target.closest("tr");
    if (kvBody.rows.length > 1) row.remove();
    else row.querySelectorAll("input").forEach(function (i) { i.value = ""; });
    schedule();
  });

  // Image: uploaded (validated, cleaned, stored) as soon as it is chosen; the form keeps its name.
  const fileInput = document.getElementById("id_image_file");
  const imageName = form.querySelector("[name=image_name]");
  const thumb = document.getElementById("image-thumb");
  const remove = document.getElementById("image-remove");
  const imageErrors = form.querySelector('[data-errors-for="image_file"]');
  const imageStatus = document.getElementById("image-status");
  function setImage(name, url) {
    imageName.value = name;
    thumb.src = url || "";
    thumb.hidden = !url;
    remove.hidden = !url;
    schedule();
  }
  if (fileInput && form.dataset.imageUploadUrl) fileInput.addEventListener("change", async function () {
    if (!fileInput.files.length) return;
    const data = new FormData();
    const chosen = fileInput.files[0];
    data.append("image", chosen);
    imageStatus.textContent = "";
    imageErrors.replaceChildren(el("div", "muted", gettext("Uploading…")));
    delete imageErrors.dataset.uploadError;
    try {
      const response = await fetch(form.dataset.imageUploadUrl, {
        method: "POST", body: data, headers: { "X-CSRFToken": csrf() }, credentials: "same-origin",
      });
      const result = await response.json();
      if (!response.ok) {
        imageErrors.dataset.uploadError = "1";
        imageErrors.replaceChildren(el("div", "", result.error ? result.error.message : gettext("Upload failed.")));
        return;
      }
      imageErrors.replaceChildren();
      setImage(result.name, result.url);
      // The file input is emptied below (choosing the same file again must upload it again),
      // which makes it read "No file chosen": say what was taken.
      imageStatus.textContent = interpolate(gettext("Uploaded %(file)s."), { file: chosen.name }, true);
    } catch (err) {
      imageErrors.dataset.uploadError = "1";
      imageErrors.replaceChildren(el("div", "", interpolate(gettext("Upload failed: %(error)s"), { error: err.message }, true)));
    } finally {
      fileInput.value = "";
    }
  });
  if (remove) remove.addEventListener("click", function () {
    setImage("", "");
    imageStatus.textContent = gettext("Image removed.");
  });

  // Preview as: search leads by email, pick one, previews render their values.
  const search = document.getElementById("preview-as-input");
  const results = document.getElementById("preview-as-results");
  const current = document.getElementById("preview-as-current");
  const leadInput = form.querySelector("[name=preview_lead]");
  function choose(id, label) {
    leadInput.value = id;
    current.textContent = id
      ? interpolate(gettext("Showing tokens for %(lead)s."), { lead: label }, true)
      : gettext("Showing token defaults (no lead chosen).");
    results.hidden = true;
    search.value = id ? label : "";
    refresh();
  }
  const searchLeads = debounce(async function () {
    const q = search.value.trim();
    if (!q) { results.hidden = true; return; }
    const response = await fetch(panel.dataset.leadSearchUrl + "?q=" + encodeURIComponent(q), { credentials: "same-origin" });
    if (!response.ok) return;
    const found = (await response.json()).results;
    const items = found.map(function (lead) {
      const li = el("li", "", lead.email);
      li.setAttribute("role", "option");
      li.tabIndex = 0;
      if (lead.name) li.append(el("span", "muted small", " " + lead.name));
      li.addEventListener("click", function () { choose(lead.id, lead.email); });
      li.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); choose(lead.id, lead.email); } });
      return li;
    });
    const none = el("li", "muted", found.length ? gettext("Use token defaults") : gettext("No lead matches — use token defaults"));
    none.setAttribute("role", "option");
    none.tabIndex = 0;
    none.addEventListener("click", function () { choose("", ""); });
    items.push(none);
    results.replaceChildren.apply(results, items);
    results.hidden = false;
  }, SEARCH_DELAY_MS);
  if (search) {
    search.addEventListener("input", searchLeads);
    search.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" && !results.hidden && results.firstChild) { e.preventDefault(); results.firstChild.focus(); }
      if (e.key === "Escape") results.hidden = true;
    });
  }

  refresh();
})();
