/* The composer's languages: translation rows (add, remove, per-row image upload), the
 * preview's language picker and the audience-languages table. The server chooses the language
 * (notifications.locales) and answers in each preview (composer.js raises "preview"); this
 * file only edits rows and draws that answer. Labels come from data-label-* attributes so
 * they are translated with the templates. */
(function () {
  "use strict";
  const form = document.getElementById("composer-form");
  const panel = document.getElementById("previews");
  const table = document.getElementById("audience-locales");
  const picker = document.getElementById("preview-locale");
  if (!form || !panel || !table || !picker) return;

  const rows = document.getElementById("translation-rows");
  const template = document.getElementById("translation-row-template");
  const status = document.getElementById("preview-language-current");
  const csrf = () => (form.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
  const label = (name, values) => {
    let text = table.dataset["label" + name] || "";
    Object.entries(values || {}).forEach(function ([key, value]) {
      text = text.replace("__" + key + "__", value);
    });
    return text;
  };
  // Ask composer.js for a fresh preview (it listens to the form's input events).
  const refresh = () => form.dispatchEvent(new Event("input"));

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /* ---------- rows ---------- */
  function addRow(locale) {
    const row = template.content.firstElementChild.cloneNode(true);
    rows.append(row);
    const input = row.querySelector("[name=tr_locale]");
    input.value = locale || "";
    (locale ? row.querySelector("[name=tr_message]") : input).focus();
    refresh();
    return row;
  }
  const add = document.getElementById("translation-add");
  if (add) add.addEventListener("click", function () { addRow(""); });

  if (rows) {
    rows.addEventListener("click", function (e) {
      const row = e.target.closest("[data-translation]");
      if (!row) return;
      if (e.target.matches("[data-translation-remove]")) {
        row.remove();
        refresh();
      } else if (e.target.matches("[data-translation-image-remove]")) {
        setRowImage(row, "", "");
      }
    });
    rows.addEventListener("input", function (e) {
      if (e.target.name !== "tr_locale") return;
      const row = e.target.closest("[data-translation]");
      row.querySelector("[data-translation-label]").textContent = e.target.value.trim() || "…";
    });
    rows.addEventListener("change", async function (e) {
      if (!e.target.matches("[data-translation-image-file]") || !e.target.files.length) return;
      const row = e.target.closest("[data-translation]");
      const note = row.querySelector("[data-translation-image-status]");
      const data = new FormData();
      data.append("image", e.target.files[0]);
      note.textContent = "…";
      try {
        const response = await fetch(form.dataset.imageUploadUrl, {
          method: "POST", body: data, headers: { "X-CSRFToken": csrf() }, credentials: "same-origin",
        });
        const result = await response.json();
        if (!response.ok) {
          note.textContent = result.error ? result.error.message : String(response.status);
          note.classList.add("error");
          return;
        }
        note.classList.remove("error");
        setRowImage(row, result.name, result.url);
      } catch (err) {
        note.textContent = err.message;
        note.classList.add("error");
      } finally {
        e.target.value = "";
      }
    });
  }

  function setRowImage(row, name, url) {
    row.querySelector("[name=tr_image]").value = name;
    const note = row.querySelector("[data-translation-image-status]");
    note.replaceChildren();
    if (url) {
      const thumb = el("img", "translation-thumb");
      thumb.src = url;
      thumb.alt = "";
      note.append(thumb);
    }
    row.querySelector("[data-translation-image-remove]").hidden = !name;
    refresh();
  }

  /* ---------- the preview's language and the audience table ---------- */
  function drawPicker(language, audience) {
    const chosen = picker.value;
    const codes = new Set(language.translations);
    audience.forEach(function (row) { if (row.locale) codes.add(row.locale); });
    if (chosen) codes.add(chosen);
    const keep = picker.options[0];
    const options = Array.from(codes).sort().map(function (code) {
      const option = el("option", "", code);
      option.value = code;
      return option;
    });
    picker.replaceChildren(keep, ...options);
    picker.value = chosen;
  }

  function drawAudience(audience) {
    const body = table.tBodies[0];
    if (!audience.length) {
      const cell = el("td", "muted", label("Empty"));
      cell.colSpan = 3;
      const tr = el("tr");
      tr.append(cell);
      body.replaceChildren(tr);
      return;
    }
    body.replaceChildren(...audience.map(function (row) {
      const tr = el("tr", row.translation || !row.locale ? "" : "missing");
      tr.dataset.locale = row.locale;
      const gets = row.translation ? label("Translation", { code: row.translation }) : label("Default");
      tr.append(
        el("td", "", row.locale || label("None")),
        el("td", "num", row.devices.toLocaleString()),
        el("td", "", gets),
      );
      if (row.locale) {
        tr.tabIndex = 0;
        tr.classList.add("pickable");
      }
      return tr;
    }));
  }

  function pick(tr) {
    if (!tr || !tr.dataset.locale) return;
    picker.value = tr.dataset.locale;
    refresh();
  }
  table.addEventListener("click", function (e) { pick(e.target.closest("tr[data-locale]")); });
  table.addEventListener("keydown", function (e) {
    if (e.key === "Enter") pick(e.target.closest("tr[data-locale]"));
  });
  picker.addEventListener("change", refresh);

  panel.addEventListener("preview", function (e) {
    const result = e.detail;
    if (!result.language) return;
    const language = result.language;
    const audience = result.audience_locales || [];
    drawPicker(language, audience);
    drawAudience(audience);
    const showing = language.translation
      ? label("Showing", { code: language.translation })
      : label("ShowingDefault");
    status.textContent = showing + (language.device_locale
      ? " " + label("Device", { locale: language.device_locale }) : "");
  });
})();
