"""The whole UI in French: a marketer whose language is French logs in, writes and approves a
push, creates a batch campaign, sends it (real worker, push simulator) and sees it sent. On
every page visited no English is left: <html lang="fr">, no English word from a list of
give-aways in the visible text, and no visible text equal to an English msgid of the
catalogue whose French differs."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group

from campaigns.models import Campaign, CampaignRun
from notifications.models import PushNotification
from pushmarketing.core.models import AddOn, UserPreference
from pushmarketing.core.roles import Role
from tests.api_fixtures import clear_throttle_counts
from tests.delivery_fixtures import simulator_app
from tests.factories import DeviceFactory, LeadFactory, UserFactory
from tests.i18n_checks import catalogue_entries

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RUN_TIMEOUT = 60
TOKEN = "ok-french-ui-" + "f" * 120  # FCM tokens are 100-255 characters
LOCALE_DIR = Path(django_settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES"
# Words that give away an untranslated page (case-sensitive, whole words). French shares many
# words with English (Message, Audience, Total, Push, Session…): those are not listed.
ENGLISH_WORDS = re.compile(
    r"\b(Campaigns?|Send|Sent|Save|Saved|Approved?|Draft|Search|Settings|Overview|Devices?|"
    r"Schedule|Cancel|Edit|Delete|Preview|Dashboard|Deliver(?:y|ies)|Failed|Skipped|Tapped|"
    r"Running|Completed|Progress|Summary|Rules|When|Log|Language|Status|Leads can|"
    r"the|and|of|with|your|you|is|are|now|yet|Not|No)\b"
)
VISIBLE_TEXTS_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const text = node.textContent.replace(/\\s+/g, " ").trim();
    const parent = node.parentElement;
    if (!text || !parent || parent.closest("script, style, option, code")) continue;
    if (!parent.checkVisibility()) continue;
    out.push(text);
  }
  for (const el of document.querySelectorAll("[placeholder], [title], [aria-label], [alt]")) {
    for (const name of ["placeholder", "title", "aria-label", "alt"]) {
      const value = el.getAttribute(name);
      if (value && value.trim()) out.push(value.trim());
    }
  }
  return out;
}"""


def english_msgids() -> set[str]:
    """Every whole English sentence or label of the catalogues that reads differently in
    French (texts with placeholders or markup never appear verbatim)."""
    found = set()
    for domain in ("django", "djangojs"):
        for entry in catalogue_entries(LOCALE_DIR / f"{domain}.po"):
            if "%(" in entry.msgid or "<" in entry.msgid or not entry.translated:
                continue
            if entry.msgstrs[0] != entry.msgid:
                found.add(entry.msgid)
    return found


class FrenchPages:
    def __init__(self) -> None:
        self.msgids = english_msgids()
        self.visited: list[str] = []

    def check(self, page, what: str) -> None:  # noqa: ANN001
        page.wait_for_load_state("networkidle")
        self.visited.append(what)
        assert page.evaluate("document.documentElement.lang") == "fr", what
        body = page.evaluate("document.body.innerText")
        # The language picker names each language in its own language.
        if what != "login":
            assert "English" in body and "Français" in body, what
        body = body.replace("English", "")
        left = sorted(set(ENGLISH_WORDS.findall(body)))
        assert left == [], f"{what}: English words left: {left}\n{body}"
        texts = page.evaluate(VISIBLE_TEXTS_JS)
        untranslated = sorted({text for text in texts if text in self.msgids})
        assert untranslated == [], f"{what}: English msgids shown: {untranslated}"


def _wait_until_sent(campaign: Campaign) -> CampaignRun:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        run = CampaignRun.objects.filter(campaign=campaign, kind="batch").first()
        if run is not None and run.status == CampaignRun.Status.COMPLETED:
            return run
        time.sleep(0.3)
    raise AssertionError("the campaign's run did not complete")


def test_a_french_marketer_sends_a_campaign_without_meeting_english(
    browser, live_site, push_simulator, celery_worker, settings, artifacts_dir
):
    settings.PUSH_SIMULATOR_ENABLED = True
    AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})
    clear_throttle_counts()
    app = simulator_app(push_simulator)
    app.name = "Boutique Durand"
    app.save(update_fields=["name"])
    lead = LeadFactory(email="jeanne@example.com", first_name="Jeanne")
    DeviceFactory(app=app, platform="android", push_token=TOKEN, lead=lead, locale="fr_FR")
    marie = UserFactory(username="marie", role=Role.MARKETER)
    marie.groups.add(Group.objects.get(name=Role.APPROVER))
    UserPreference.objects.create(user=marie, language="fr")
    pages = FrenchPages()
    # Before login only the browser speaks: a French browser gets the French login page.
    context = browser.new_context(locale="fr-FR", viewport={"width": 1500, "height": 1100})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the "Envoyer maintenant ?" confirm
    base = live_site.url

    page.goto(f"{base}/login/")
    pages.check(page, "login")
    page.fill("input[name=username]", "marie")
    page.fill("input[name=password]", "pass-for-tests")
    page.get_by_role("button", name="Se connecter").click()
    pages.check(page, "home")
    assert page.get_by_role("heading", name="Vue d’ensemble").is_visible()

    page.get_by_role("link", name="Notifications push").first.click()
    pages.check(page, "notification list")
    page.get_by_role("link", name="Nouveau push").first.click()
    pages.check(page, "composer (new)")
    # The phones' clock and date are written the French way.
    page.locator("#preview-ios .i-clock").wait_for()
    assert page.locator("#preview-ios .i-clock").inner_text() == "09:41"
    assert page.locator("#preview-ios .i-date").inner_text() == "mardi 13 janvier"
    page.fill("#id_name", "Soldes de printemps")
    page.select_option("#id_app", label="Boutique Durand")
    page.fill("#id_title", "Soldes")
    page.fill("#id_message", "Moins 20 % sur tout aujourd’hui")
    # The previews show the text once the server has checked it (the save button waits too).
    page.locator("#preview-ios").get_by_text("Moins 20 %", exact=False).first.wait_for()
    pages.check(page, "composer (previewed)")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    pages.check(page, "composer (saved)")
    assert "« Soldes de printemps » enregistré comme brouillon." in page.inner_text("main")

    page.get_by_role("link", name="Voir et approuver").click()
    pages.check(page, "push detail (draft)")
    page.get_by_role("button", name="Approuver").click()
    pages.check(page, "push detail (approved)")
    push = PushNotification.objects.get(name="Soldes de printemps")
    assert push.status == PushNotification.Status.APPROVED
    assert "Approuvé le" in page.inner_text("main")

    page.get_by_role("link", name="Campagnes").first.click()
    pages.check(page, "campaign list")
    page.get_by_role("link", name="Nouvelle campagne par lot").click()
    pages.check(page, "campaign editor")
    page.fill("#id_name", "Printemps")
    page.select_option("#id_app", label="Boutique Durand")
    page.select_option("#id_notification", label="Soldes de printemps")
    page.get_by_text("1 appareil", exact=False).first.wait_for()  # the live audience count
    pages.check(page, "campaign editor (counted)")
    page.get_by_role("button", name="Créer la campagne").click()
    pages.check(page, "campaign detail (draft)")
    campaign = Campaign.objects.get(name="Printemps")

    page.get_by_role("button", name="Envoyer maintenant").click()
    pages.check(page, "campaign detail (started)")
    run = _wait_until_sent(campaign)
    assert (run.sent_android, run.failed_android) == (1, 0)
    page.reload()
    pages.check(page, "campaign detail (sent)")
    assert page.locator("#campaign-status").inner_text().strip() == "Terminée"
    page.get_by_role("link", name="Tableau de bord").first.click()
    pages.check(page, "campaign dashboard")
    page.goto(f"{base}/campaigns/runs/{run.pk}/dashboard/")
    pages.check(page, "run dashboard")
    page.screenshot(path=str(artifacts_dir / "french_run_dashboard.png"), full_page=True)
    context.close()
    assert len(pages.visited) == 16
