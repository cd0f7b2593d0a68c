/* The in-app composer: the server lays the message out (inapp/previews.py) and answers with
 * the phone frames as HTML; this file posts the form state (debounced), swaps the frames in,
 * shows field errors once a field was left, hides what the chosen layout does not use, and
 * handles the token picker, the image upload and Preview as. Texts come from the page. */
(function () {
  "use strict";
  const form = document.getElementById("inapp-form");
  const panel = document.getElementById("previews");
  if (!form || !panel) return;
  const box = document.getElementById("inapp-preview");
  const csrf = () => (form.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
  const touched = new Set();
  let submitted = Array.from(form.querySelectorAll("[data-errors-for]")).some((b) => b.children.length > 0);
  let sequence = 0;
  let lastErrors = {};
  let timer = null;

  function schedule() { clearTimeout(timer); timer = setTimeout(refresh, 150); }

  function drawErrors() {
    form.querySelectorAll("[data-errors-for]").forEach((errorBox) => {
      const name = errorBox.dataset.errorsFor;
      if (errorBox.dataset.uploadError) return;
      const list = submitted || touched.has(name) ? lastErrors[name] || [] : [];
      errorBox.replaceChildren(...list.map((m) => { const d = document.createElement("div"); d.textContent = m; return d; }));
      const input = form.querySelector(`[name="${name}"]`);
      if (input && input.type !== "radio") {
        if (list.length) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
      }
    });
  }

  async function refresh() {
    const mine = ++sequence;
    const data = new FormData(form);
    data.delete("image_file");
    try {
      const response = await fetch(panel.dataset.previewUrl, {
        method: "POST", body: data, headers: { "X-CSRFToken": csrf(), Accept: "application/json" }, credentials: "same-origin",
      });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const result = await response.json();
      if (mine !== sequence) return;
      box.innerHTML = result.html;
      box.dataset.ready = "1";
      lastErrors = result.errors || {};
      drawErrors();
    } catch (err) {
      box.dataset.ready = "0";
    }
  }

  // The layout decides which sections apply: no text/buttons for image-only, no image for text.
  const SLOTS = {
    popup_text: ["text"], popup_image_text: ["text", "image"], popup_image: ["image"],
    fullscreen_text: ["text"], fullscreen_image_text: ["text", "image"], fullscreen_image: ["image"],
  };
  function syncLayout() {
    const chosen = form.querySelector("[name=layout]:checked");
    const slots = SLOTS[chosen ? chosen.value : "popup_text"] || ["text"];
    form.querySelectorAll("[data-slot]").forEach((section) => { section.hidden = !slots.includes(section.dataset.slot); });
    const image = form.querySelector('[data-target="image"]');
    if (image) image.hidden = !slots.includes("image");
  }
  // A link field only shows when its action opens a link.
  function syncLinks() {
    form.querySelectorAll("select[name$=_action]").forEach((select) => {
      const uri = form.querySelector(`[name="${select.name.replace(/_action$/, "_uri")}"]`);
      const field = uri && uri.closest(".field");
      if (field) field.hidden = !["deep_link", "url"].includes(select.value);
    });
  }

  form.addEventListener("focusout", (e) => { if (e.target.name) { touched.add(e.target.name); drawErrors(); } });
  form.addEventListener("submit", () => { submitted = true; });
  form.addEventListener("input", (e) => { if (e.target.type !== "file") schedule(); });
  form.addEventListener("change", (e) => {
    if (e.target.name === "layout") syncLayout();
    if (e.target.name && e.target.name.endsWith("_action")) syncLinks();
    if (e.target.type !== "file") schedule();
  });

  // Token picker: insert into the token-capable field the marketer last typed in.
  let tokenTarget = form.querySelector("[name=body]");
  form.querySelectorAll("[data-tokens]").forEach((input) => input.addEventListener("focus", () => { tokenTarget = input; }));
  const insert = document.getElementById("token-insert");
  if (insert) insert.addEventListener("click", () => {
    const field = document.getElementById("token-field").value;
    const fallback = document.getElementById("token-default").value.replace(/[{}]/g, "");
    const token = "{{lead." + field + ":default=" + fallback + "}}";
    const start = tokenTarget.selectionStart ?? tokenTarget.value.length;
    tokenTarget.setRangeText(token, start, tokenTarget.selectionEnd ?? start, "end");
    tokenTarget.focus();
    schedule();
  });

  // Image: uploaded (checked against the in-app limits, cleaned, stored) as soon as chosen.
  const fileInput = document.getElementById("id_image_file");
  const imageName = form.querySelector("[name=image_name]");
  const thumb = document.getElementById("image-thumb");
  const imageErrors = form.querySelector('[data-errors-for="image_file"]');
  if (fileInput) fileInput.addEventListener("change", async () => {
    if (!fileInput.files.length) return;
    const data = new FormData();
    data.append("image", fileInput.files[0]);
    delete imageErrors.dataset.uploadError;
    try {
      const response = await fetch(form.dataset.imageUploadUrl, { method: "POST", body: data, headers: { "X-CSRFToken": csrf() }, credentials: "same-origin" });
      const result = await response.json();
      if (!response.ok) {
        imageErrors.dataset.uploadError = "1";
        const d = document.createElement("div");
        d.textContent = result.error ? result.error.message : String(response.status);
        imageErrors.replaceChildren(d);
        return;
      }
      imageErrors.replaceChildren();
      imageName.value = result.name;
      thumb.src = result.url;
      thumb.hidden = false;
      schedule();
    } finally {
      fileInput.value = "";
    }
  });

  // Preview as: search leads by email, pick one; the frames render their values.
  const search = document.getElementById("preview-as-input");
  const results = document.getElementById("preview-as-results");
  const current = document.getElementById("preview-as-current");
  const leadInput = form.querySelector("[name=preview_lead]");
  const defaultsText = current.textContent;
  function choose(id, label) {
    leadInput.value = id;
    current.textContent = id ? label : defaultsText;
    results.hidden = true;
    search.value = id ? label : "";
    refresh();
  }
  let searchTimer = null;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      const q = search.value.trim();
      if (!q) { results.hidden = true; return; }
      const response = await fetch(panel.dataset.leadSearchUrl + "?q=" + encodeURIComponent(q), { credentials: "same-origin" });
      if (!response.ok) return;
      const items = (await response.json()).results.map((lead) => {
        const li = document.createElement("li");
        li.textContent = lead.email;
        li.setAttribute("role", "option");
        li.tabIndex = 0;
        li.addEventListener("click", () => choose(lead.id, lead.email));
        li.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); choose(lead.id, lead.email); } });
        return li;
      });
      results.replaceChildren(...items);
      results.hidden = items.length === 0;
    }, 200);
  });
  search.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" && !results.hidden && results.firstChild) { e.preventDefault(); results.firstChild.focus(); }
    if (e.key === "Escape") results.hidden = true;
  });
  results.addEventListener("keydown", (e) => {
    const item = e.target.closest("li");
    if (!item) return;
    if (e.key === "ArrowDown" && item.nextElementSibling) { e.preventDefault(); item.nextElementSibling.focus(); }
    if (e.key === "ArrowUp") { e.preventDefault(); (item.previousElementSibling || search).focus(); }
  });

  syncLayout();
  syncLinks();
  refresh();
})();
