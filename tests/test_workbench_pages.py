"""The landing page, the served spec, Swagger UI's page and the names lookup."""

from __future__ import annotations

import shlex

import httpx
import pytest
from factories import CHILD, CHILD_KEY, OTHER_KEY, PARENT, PARENT_KEY
from server_support import ME
from workbench_support import workbench

from usagekit.mock.datasets import synthetic
from usagekit.mock.server.banner import banner
from usagekit.mock.server.config import ServerConfig
from usagekit.mock.spec import load_spec


def test_landing_html_names_the_pages_and_the_demo_keys():
    with workbench() as mock:
        page = mock.get("/", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for link in ('href="http://mock.test/demo"', 'href="http://mock.test/ui/"', "/openapi.json"):
        assert link in page.text
    # A dataset without the synthetic demo keys: its first top-level account is "demo".
    assert PARENT_KEY in page.text
    assert CHILD_KEY in page.text
    assert OTHER_KEY in page.text


def test_landing_json_is_the_same_content_and_its_curl_works():
    with workbench() as mock:
        content = mock.get("/", headers={"accept": "application/json"}).json()
        roles = {k["role"]: k["account_id"] for k in content["keys"]}
        assert roles == {
            "demo": PARENT,
            "subaccount": CHILD,
            "other": content["keys"][2]["account_id"],
        }
        words = shlex.split(content["curl"])
        header = words[words.index("-H") + 1]
        url = httpx.URL(words[-1])
        answer = mock.get(url.raw_path.decode(), headers=dict([tuple(header.split(": "))]))
    assert answer.status_code == 200, answer.text
    # The curl asks for the last seven days of data: it is not an empty answer.
    totals = sum(v["seconds"] for bucket in answer.json()["data"] for v in bucket["values"])
    assert totals > 0
    with workbench() as mock:
        html_page = mock.get("/").text
    for link in content["links"]:
        assert link["title"] in html_page


def test_served_spec_is_redated_into_the_data_and_names_this_server():
    contract = load_spec()
    with workbench() as mock:
        spec = mock.get("/openapi.json").json()
        start = spec["components"]["parameters"]["Start"]["example"]
        end = spec["components"]["parameters"]["End"]["example"]
        answer = mock.get(
            ME, key=PARENT_KEY, params={"start": start, "end": end, "tz": "Europe/Vienna"}
        )
        yaml_spec = mock.get("/openapi.yaml")
    # The test dataset ends on 2024-03-31 22:00Z, that is April 1st in Vienna.
    assert (start, end) == ("2024-03-26T00:00:00+01:00", "2024-04-02T00:00:00+02:00")
    assert answer.status_code == 200
    assert any(bucket["values"] for bucket in answer.json()["data"])
    assert spec["servers"][0] == {"url": "http://mock.test", "description": "this usagekit mock"}
    # Only the served copy changed: the paths and the contract file are as written.
    assert spec["paths"] == contract["paths"]
    assert contract["components"]["parameters"]["Start"]["example"] != start
    assert yaml_spec.status_code == 200
    assert "this usagekit mock" in yaml_spec.text


def test_swagger_ui_page_preauthorises_the_demo_key_and_persists_it():
    with workbench() as mock:
        page = mock.get("/ui/")
        asset = mock.get("/ui/swagger-ui-bundle.js")
        script = mock.get("/demo/assets/swagger.js")  # a file: the page's policy
    assert page.status_code == 200
    assert 'src="/demo/assets/swagger.js"' in page.text
    assert "persistAuthorization: true" in script.text
    assert "preauthorizeApiKey" in script.text
    assert f'"demo_key": "{PARENT_KEY}"' in page.text
    assert asset.status_code == 200


def test_names_lookup_is_mock_only_and_names_every_id():
    with workbench() as mock:
        names = mock.get("/_usagekit/names").json()
    assert names["accounts"][PARENT] == "Parent"
    assert names["agents"] == {"agent-a": "Alice", "agent-b": "Bob", "agent-c": "Carol"}
    assert "/_usagekit/names" not in str(load_spec()["paths"])


def test_admin_routes_answer_loopback_only_without_a_token():
    with workbench() as mock:
        mock._client._transport = httpx.ASGITransport(app=mock.app, client=("10.1.2.3", 5000))
        remote = mock.get("/_usagekit/status")
        page = mock.get("/")
    assert remote.status_code == 403
    assert remote.json()["code"] == "forbidden"
    assert page.status_code == 200


@pytest.mark.parametrize(
    ("sent", "status"),
    [(None, 401), ("Bearer wrong", 401), ("Basic s3cret", 401), ("Bearer s3cret", 200)],
)
def test_admin_token_is_required_from_every_client(sent, status):
    headers = {"authorization": sent} if sent else {}
    with workbench(admin_token="s3cret") as mock:
        answer = mock.get("/_usagekit/status", headers=headers)
    assert answer.status_code == status
    if status == 401:
        assert answer.json()["code"] == "unauthorized"


def test_unknown_admin_route_is_a_404_in_the_contracts_shape():
    with workbench() as mock:
        answer = mock.get("/_usagekit/nothing")
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


def test_banner_prints_the_pages_and_a_curl():
    text = banner(ServerConfig(host="0.0.0.0", port=8123))
    for line in ("http://127.0.0.1:8123/", "/demo", "/ui/", "/openapi.json"):
        assert line in text
    assert synthetic.DEMO_API_KEY in text
