// Virtual devices inbox, live: poll inbox.json every 2 s and replace the phones when they
// changed (new pushes, reported taps), keeping focus on the same control. The Received / Tap
// buttons and the "App in foreground" switch post in the background and show the result at
// once; without JavaScript they are plain forms that post and come back to this page.
(function () {
  const gettext = window.gettext || ((text) => text);
  const phones = document.getElementById("phones");
  if (!phones) return;
  const live = document.getElementById("inbox-live");
  // Each render masks the CSRF tokens differently: compare without them, so the phones are
  // only replaced when a push or a state changed (no flicker, focus kept).
  const CSRF = /name="csrfmiddlewaretoken" value="[^"]*"/g;
  const same = (html) => html.replace(CSRF, "");
  let last = same(phones.innerHTML);
  let busy = false;

  function replace(html) {
    if (html == null || same(html) === last) return;
    const focusedId = document.activeElement && phones.contains(document.activeElement) ? document.activeElement.id : null;
    last = same(html);
    phones.innerHTML = html;
    if (focusedId) {
      const done = focusedId.replace(/^tap-/, "tapped-").replace(/^recv-/, "recvd-");
      const again = document.getElementById(focusedId) || document.getElementById(done);
      if (again) again.focus();
    }
  }

  async function poll() {
    if (!document.hidden && !busy) {
      try {
        const response = await fetch(phones.dataset.url, { headers: { Accept: "application/json" } });
        if (!response.ok) throw new Error(response.status);
        const data = await response.json();
        replace(data.html);
        if (live && live.dataset.down === "1") { live.textContent = gettext("Updates live."); live.dataset.down = "0"; }
      } catch (err) {
        if (live) { live.textContent = gettext("Reconnecting…"); live.dataset.down = "1"; }
      }
    }
    setTimeout(poll, 2000);
  }

  phones.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-async]");
    if (!form) return;
    event.preventDefault();
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    busy = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const data = await response.json();
      if (live) live.textContent = data.message || "";
      if (data.ok) replace(data.html);
      else if (button) button.disabled = false;
    } catch (err) {
      if (live) live.textContent = gettext("Not recorded: the server could not be reached.");
      if (button) button.disabled = false;
    } finally {
      busy = false;
    }
  });

  setTimeout(poll, 2000);
})();
