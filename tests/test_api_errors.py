"""Bad requests get a JSON error under /api/, never a 500 or an HTML page."""

import pytest

pytestmark = pytest.mark.django_db

LISTS_WITH_TIME_FILTERS = ("/api/v1/calls/", "/api/v1/messages/", "/api/v1/alerts/")


def test_json_nested_too_deep_is_a_400(api):
    body = "[" * 1000 + "]" * 1000
    response = api.post("/api/v1/campaigns/", body, content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


@pytest.mark.parametrize("path", LISTS_WITH_TIME_FILTERS)
@pytest.mark.parametrize("name", ["created_after", "created_before"])
def test_a_time_filter_with_an_offset_no_place_uses_is_a_400_naming_it(api, path, name):
    response = api.get(path, {name: "2026-01-01T00:00:00+16:00"})
    assert response.status_code == 400
    assert "offset" in response.json()[name][0]


@pytest.mark.parametrize("path", LISTS_WITH_TIME_FILTERS)
def test_a_time_filter_with_a_real_offset_still_filters(api, path):
    response = api.get(path, {"created_after": "2026-01-01T00:00:00+14:00"})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/v2/campaigns/", "/api/"])
def test_an_unrouted_path_under_api_is_a_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_an_unrouted_path_elsewhere_keeps_the_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_body_over_the_limit_is_a_json_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"name": "' + "x" * 2000 + '"}'
    response = api.post("/api/v1/campaigns/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large.", "code": "too_large"}
