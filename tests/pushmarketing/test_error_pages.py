"""Issue 13 item 8: friendly 403/404/500 pages with DEBUG off, and a favicon."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import Client, override_settings
from django.urls import reverse


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_404_page_is_plain_words_with_a_link_home(admin_client):
    response = admin_client.get("/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in page
    assert "There is no page at <code>/no-such-page/</code>" in page
    assert f'href="{reverse("home")}"' in page
    assert "Traceback" not in page and "URLconf" not in page


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_404_page_works_signed_out():
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


@pytest.mark.django_db
@override_settings(DEBUG=False, ROOT_URLCONF="tests.pushmarketing.error_urls")
def test_500_page_is_plain_words_and_hides_the_error(admin_user):
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    response = client.get("/boom/")
    page = response.content.decode()
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in page
    assert 'href="/"' in page
    assert "a bug in a view" not in page and "Traceback" not in page


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_403_page_says_why_and_links_home(marketer_client):
    response = marketer_client.get(reverse("app-list"))
    page = response.content.decode()
    assert response.status_code == 403
    assert "Your role does not allow this." in page
    assert f'href="{reverse("home")}"' in page


@pytest.mark.django_db
def test_favicon_is_linked_and_served(admin_client):
    page = admin_client.get(reverse("home")).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    response = Client().get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.svg"
    assert finders.find("favicon.svg")
