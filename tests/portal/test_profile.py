"""The profile page: everyone signed in has one, showing who they are."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_profile_shows_who_is_signed_in(client, tree):
    client.force_login(tree.msp_a1_admin)
    page = client.get(reverse("portal:profile"))
    assert page.status_code == 200
    html = page.content.decode()
    assert tree.msp_a1_admin.email in html
    assert tree.msp_a1.name in html
    assert page["Cache-Control"].startswith("max-age=0")


def test_the_top_bar_links_to_the_profile(client, tree):
    client.force_login(tree.dist_a_admin)
    page = client.get(reverse("portal:profile"))
    assert f'href="{reverse("portal:profile")}"' in page.content.decode()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    page = client.get(reverse("portal:profile"))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("portal:login"))
