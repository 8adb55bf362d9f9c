"""The admin's login throttles guessing: after ADMIN_LOGIN_FAILURE_LIMIT wrong passwords for
a username from one address, even the right password is refused until the cool-off ends."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def staff():
    user_model = get_user_model()
    for name in ("alice", "bob"):
        user_model.objects.create_user(name, password=f"{name}-right", is_staff=True)


def log_in(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def test_the_right_password_logs_in(staff):
    response = log_in(Client(), "alice", "alice-right")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_guessing_locks_the_username_out_even_for_the_right_password(staff, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "alice", "wrong").status_code == 200  # the form, with its error
    assert log_in(client, "alice", "wrong").status_code == 429  # the last one allowed

    later = Client()
    assert log_in(later, "alice", "alice-right").status_code == 429
    assert later.get("/admin/").status_code == 302  # not logged in: to the login page
    assert log_in(Client(), "bob", "bob-right").status_code == 302  # others are not locked out
