// Page furniture shared by every page: the menu button that replaces the sidebar under 900 px,
// and the scrolling box around wide tables.
(function () {
  "use strict";

  // The menu: a disclosure button (aria-expanded / aria-controls). Escape closes it and gives
  // focus back to the button; so does a click outside it. app.css shows the button and hides
  // the closed menu only in the narrow layout, so at desktop width the state is irrelevant.
  function setUpMenu() {
    const button = document.getElementById("menu-button");
    const sidebar = document.getElementById("sidebar");
    if (!button || !sidebar) return;
    const setOpen = function (open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      sidebar.classList.toggle("open", open);
    };
    button.addEventListener("click", function () {
      setOpen(button.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || button.getAttribute("aria-expanded") !== "true") return;
      setOpen(false);
      button.focus();
    });
    document.addEventListener("click", function (event) {
      if (button.getAttribute("aria-expanded") === "true" && !sidebar.contains(event.target)) setOpen(false);
    });
  }

  // Wide tables scroll inside their own box instead of pushing the page sideways. While a box
  // actually scrolls it is a labelled region in the tab order, so a keyboard user can focus it
  // and scroll with the arrow keys; when everything fits it is a plain div again (no empty tab
  // stop). Tables added later (the dashboard replaces its figures while a run sends) are
  // wrapped too.
  // The closest heading above the table: its own section's title when the table sits under an
  // h2 outside any card (two tables of one page must not both be named after its h1).
  function headingAbove(table) {
    for (let node = table; node && node.tagName !== "MAIN" && node !== document.body; node = node.parentElement) {
      for (let sibling = node.previousElementSibling; sibling; sibling = sibling.previousElementSibling) {
        if (/^H[1-6]$/.test(sibling.tagName)) return sibling;
        const inner = sibling.querySelectorAll("h1, h2, h3, h4");
        if (inner.length) return inner[inner.length - 1];
      }
    }
    return null;
  }

  function tableLabel(name) {
    const format = window.gettext ? window.gettext("%s (table)") : "%s (table)";
    return format.replace("%s", name);
  }

  function labelFor(table) {
    const caption = table.querySelector("caption");
    if (caption && caption.textContent.trim()) return caption.textContent.trim();
    if (table.getAttribute("aria-label")) return table.getAttribute("aria-label");
    const card = table.closest(".card, section, details") || table.parentElement;
    const heading = (card && card.querySelector("h2, h3, summary, legend")) || headingAbove(table);
    if (heading && heading.textContent.trim()) return tableLabel(heading.textContent.trim());
    const page = document.querySelector("main h1");
    return tableLabel(page ? page.textContent.trim() : window.gettext ? window.gettext("Data") : "Data");
  }

  function wrapTables(root) {
    root.querySelectorAll("table").forEach(function (table) {
      if (table.parentElement.classList.contains("table-scroll")) return;
      const box = document.createElement("div");
      box.className = "table-scroll";
      table.parentNode.insertBefore(box, table);
      box.appendChild(table);
    });
  }

  // Tables marked `stack-narrow` turn each row into a small card on a phone (app.css): each
  // cell shows its column's name from `data-label`, copied here from the header. Explicit
  // roles keep them a table for screen readers once CSS changes their display.
  function labelStackedCells(root) {
    root.querySelectorAll("table.stack-narrow").forEach(function (table) {
      const heads = Array.from(table.querySelectorAll("thead th"));
      table.setAttribute("role", "table");
      table.querySelectorAll("thead, tbody").forEach(function (group) { group.setAttribute("role", "rowgroup"); });
      table.querySelectorAll("tr").forEach(function (row) { row.setAttribute("role", "row"); });
      heads.forEach(function (th) { th.setAttribute("role", "columnheader"); });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.from(row.children).forEach(function (cell, i) {
          cell.setAttribute("role", cell.tagName === "TH" ? "rowheader" : "cell");
          const th = heads[i];
          // A header that is only a screen-reader name (the actions column) shows no label.
          if (th && !cell.hasAttribute("data-label") && !th.querySelector(".sr-only")) {
            cell.setAttribute("data-label", th.textContent.trim());
          }
        });
      });
    });
  }

  function markScrollable() {
    document.querySelectorAll(".table-scroll").forEach(function (box) {
      const scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", labelFor(box.querySelector("table")));
      } else if (!scrolls && box.hasAttribute("tabindex")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }

  function setUpTables() {
    const main = document.getElementById("main") || document.body;
    wrapTables(main);
    labelStackedCells(main);
    markScrollable();
    let pending = false;
    const refresh = function () {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () {
        pending = false;
        wrapTables(main);
        labelStackedCells(main);
        markScrollable();
      });
    };
    window.addEventListener("resize", refresh);
    new MutationObserver(refresh).observe(main, { childList: true, subtree: true });
  }

  function start() {
    setUpMenu();
    setUpTables();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
