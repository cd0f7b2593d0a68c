from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from pushmarketing.core.display import moment_text
from pushmarketing.core.models import AuditEntry, UserPreference
from pushmarketing.templatetags.display import count
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_browser_language_applies_until_the_user_picks_one(marketer_client):
    page = marketer_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert '<html lang="fr">' in page.content.decode()
    assert "Vue d’ensemble" in page.content.decode()
    page = marketer_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="de-DE")
    assert '<html lang="en">' in page.content.decode()


def test_the_chosen_language_wins_over_the_browser_and_is_audited(marketer_client, marketer_user):
    answer = marketer_client.post(
        reverse("language-set"), {"language": "fr", "next": reverse("home")}
    )
    assert answer.status_code == 302 and answer.url == reverse("home")
    assert UserPreference.objects.get(user=marketer_user).language == "fr"
    entry = AuditEntry.objects.get(action="user.language_changed")
    assert entry.details == {"before": "", "after": "fr"}
    page = marketer_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US")
    assert '<html lang="fr">' in page.content.decode()
    assert "Langue enregistrée." in page.content.decode()


def test_the_choice_follows_the_user_to_a_new_session(client):
    user = UserFactory(password="pass-for-tests")
    UserPreference.objects.create(user=user, language="fr")
    client.post(reverse("login"), {"username": user.username, "password": "pass-for-tests"})
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="fr">' in page.content.decode()


def test_back_to_the_browser_default(marketer_client, marketer_user):
    marketer_client.post(reverse("language-set"), {"language": "fr"})
    marketer_client.post(reverse("language-set"), {"language": ""})
    assert UserPreference.objects.get(user=marketer_user).language == ""
    page = marketer_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="en">' in page.content.decode()


def test_an_unknown_language_is_refused_naming_the_field(marketer_client, marketer_user):
    answer = marketer_client.post(reverse("language-set"), {"language": "xx"}, follow=True)
    assert "Language: choose one of the listed languages" in answer.content.decode()
    assert not UserPreference.objects.filter(user=marketer_user).exists()


def test_the_picker_refuses_an_outside_next(marketer_client):
    answer = marketer_client.post(
        reverse("language-set"), {"language": "fr", "next": "https://evil.example/"}
    )
    assert answer.url == reverse("home")


def test_the_apis_answer_in_english_whatever_the_user_chose(marketer_client):
    marketer_client.post(reverse("language-set"), {"language": "fr"})
    answer = marketer_client.get("/api/v1/apps", HTTP_ACCEPT_LANGUAGE="fr")
    assert answer["Content-Language"] == "en"


def test_dates_and_counts_follow_the_language():
    moment = dt.datetime(2026, 2, 3, 16, 5, tzinfo=dt.UTC)
    assert (moment_text(moment), count(12400)) == ("3 Feb 2026, 16:05 UTC", "12,400")
    with translation.override("fr"):
        assert (moment_text(moment), count(12400)) == ("3 fév. 2026, 16:05 UTC", "12\xa0400")


def test_phone_previews_use_the_preview_leads_device_locale(marketer_client):
    from devices.models import MobileApp
    from notifications.previews import preview_locale
    from tests.factories import DeviceFactory, LeadFactory, MobileAppFactory

    app: MobileApp = MobileAppFactory()
    lead = LeadFactory()
    DeviceFactory(app=app, lead=lead, locale="de_DE")
    assert preview_locale(lead=lead, app=app) == "de-DE"
    with translation.override("fr"):
        assert preview_locale(lead=LeadFactory(), app=app) == "fr"
        assert preview_locale(lead=None, app=app) == "fr"


def test_campaign_sentences_read_in_french():
    from campaigns.wording import audience_row_sentence, schedule_sentence

    row = {"field": "tapped_push", "notification_id": 3, "within_days": 7}
    with translation.override("fr"):
        assert (
            audience_row_sentence(row, push_names={3: "Soldes"})
            == "A touché le push “Soldes” dans les 7 derniers jours"
        )
        spec = {"frequency": "weekly", "weekday": "monday", "time": "09:00"}
        assert schedule_sentence("recurring", spec) == "Chaque lundi à 09:00 UTC"
