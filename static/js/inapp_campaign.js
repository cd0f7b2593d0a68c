// The in-app campaign editor: a campaign belongs to its message's app, so picking a message
// selects that app (and campaigns.js recounts the audience for it).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    const config = JSON.parse(document.getElementById("campaign-editor-config").textContent);
    const message = document.querySelector("select[name=message]");
    const app = document.querySelector("select[name=app]");
    if (!message || !app) return;
    function follow() {
      const appId = config.message_apps[message.value];
      if (appId && String(appId) !== app.value) {
        app.value = String(appId);
        app.dispatchEvent(new Event("change"));
      }
    }
    message.addEventListener("change", follow);
    follow();
  });
})();
