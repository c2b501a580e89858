"""The probes take GET and HEAD only and say so; any path under /v1/ that does not exist is a JSON 404,
whatever characters it holds (schemathesis found a newline that fell through to the HTML page)."""

import pytest


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_a_probe_answers_get_and_head_and_refuses_the_rest_with_allow(client, path, db):
    options = client.options(path)
    post = client.post(path)
    head = client.head(path)

    assert (options.status_code, options["Allow"]) == (204, "GET, HEAD, OPTIONS")
    assert (post.status_code, post["Allow"]) == (405, "GET, HEAD, OPTIONS")
    assert post.json()["error"]["code"] == "method_not_allowed"
    assert post.json()["error"]["message"] == "POST is not allowed here; use GET."
    assert head.status_code in (200, 503)  # /ready: 503 when a dependency is missing; never a 405


@pytest.mark.parametrize("path", ["/v1/nothing-here", "/v1/models%0A/x", "/v1/%0D%0A"])
def test_an_unknown_api_path_is_a_json_404(client, path, db):
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["type"] == "not_found_error"
    assert response.json()["error"]["message"].startswith("No route for GET /v1/")
