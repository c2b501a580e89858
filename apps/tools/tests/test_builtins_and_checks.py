"""The parts of a tool call that need no server: the calculator's arithmetic (and what it refuses),
schema checks, argument validation, the signature, and where a tool may connect."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import re

import pytest

from apps.tenancy.principal import Principal
from apps.tools import execute, network
from apps.tools.builtins import BUILTINS, CallContext, ToolFailure, calculate
from apps.tools.models import AllowedDestination
from apps.tools.schemas import arguments_problem, schema_problem

CONTEXT = CallContext(Principal(tenant_id=1, tenant_slug="acme", tier="free", method="api_key"), "req_1")


@pytest.mark.parametrize(
    ("expression", "value"),
    [("2 + 3 * 4", 14), ("(17 * 23) / 4", 97.75), ("2 ^ 10", 1024), ("-7 // 2", -4), ("sqrt(16) + abs(-2)", 6.0),
     ("max(1, 9, 3) % 4", 1), ("round(pi, 4)", 3.1416)],
)  # fmt: skip
def test_the_calculator_computes_arithmetic(expression, value):
    assert calculate(expression) == value


@pytest.mark.parametrize(
    ("expression", "why"),
    [("__import__('os').system('id')", "is not arithmetic"), ("(1).__class__", "is not arithmetic"),
     ("open('/etc/passwd')", "is not arithmetic"), ("9 ** 9 ** 9", "the power is too large"),
     ("1 / 0", "division by zero"), ("1 +", "not valid arithmetic"), ("x * 2", "is not arithmetic"),
     ("10.0 ** 300 * 10.0 ** 300", "too large"), ("1" * 501, "longer than 500")],
)  # fmt: skip
def test_the_calculator_refuses_what_is_not_arithmetic(expression, why):
    with pytest.raises(ToolFailure, match=why):
        calculate(expression)


def test_built_ins_answer_through_the_executor():
    calculator, clock = BUILTINS["calculator"], BUILTINS["current_time"]
    tool = execute.ToolSpec("calculator", "", calculator.input_schema, "builtin", 5.0, 65536)
    result = asyncio.run(execute.run(tool, {"expression": "6 * 7"}, CONTEXT))
    assert (result.outcome, result.content) == ("ok", '{"expression": "6 * 7", "value": 42}')
    invalid = asyncio.run(execute.run(tool, {"expr": "6 * 7"}, CONTEXT))
    assert invalid.outcome == "invalid_arguments"
    assert invalid.content == "Invalid arguments for calculator: at the top level: 'expression' is a required property."
    timed = execute.ToolSpec("current_time", "", clock.input_schema, "builtin", 5.0, 65536)
    rome = asyncio.run(execute.run(timed, {"timezone": "Europe/Rome"}, CONTEXT))
    assert (rome.outcome == "ok" and '"timezone": "Europe/Rome"' in rome.content and "+01:00" in rome.content) or (
        "+02:00" in rome.content
    )
    nowhere = asyncio.run(execute.run(timed, {"timezone": "Mars/Olympus"}, CONTEXT))
    assert (nowhere.outcome, nowhere.content) == (
        "failed",
        "current_time failed: 'Mars/Olympus' is not a known time zone.",
    )


def test_schemas_are_checked_when_saved():
    assert schema_problem({"type": "object", "properties": {"city": {"type": "string"}}}) is None
    assert schema_problem([]) == "the input schema must be a JSON object"
    assert schema_problem({"type": "string"}) == "a tool's input is an object: the schema's type must be 'object'"
    assert schema_problem({"type": "object", "properties": {"n": {"type": "integr"}}}).startswith(
        "the input schema is not valid JSON Schema at properties/n/type:"
    )


def test_arguments_are_validated_with_the_first_error_and_its_place():
    schema = {"type": "object", "properties": {"n": {"type": "integer", "maximum": 5}}, "required": ["n"]}
    assert arguments_problem(schema, {"n": 3}) is None
    assert arguments_problem(schema, {"n": 9}) == "at n: 9 is greater than the maximum of 5"
    assert arguments_problem(schema, {}) == "at the top level: 'n' is a required property"
    assert arguments_problem(schema, [1]) == "the arguments must be a JSON object"
    assert execute.parse_arguments('{"n": ')[1] == "the arguments are not valid JSON (Expecting value at character 6)"


def test_the_signature_is_an_hmac_of_the_timestamp_and_the_body():
    body = b'{"city":"Rome"}'
    expected = hmac.new(b"whsec_x", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert execute.signature("whsec_x", 1700000000, body) == f"t=1700000000,v1={expected}"


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
                "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "224.0.0.1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe",
                "2002:a00:1::1", "2001:0:4136:e378:8000:63bf:f5ff:fffe", "fec0::1"],
)  # fmt: skip
def test_private_loopback_link_local_and_reserved_addresses_are_not_public(address):
    assert not network.public(ipaddress.ip_address(address))


def test_public_addresses_are_public():
    assert network.public(ipaddress.ip_address("93.184.215.14"))
    assert network.public(ipaddress.ip_address("2606:4700::1111"))


@pytest.mark.django_db
def test_a_private_destination_is_refused_after_resolution_unless_allow_listed():
    assert network.allowed_networks() == []
    with pytest.raises(ToolFailure, match=re.escape("resolves to 127.0.0.1, a private, loopback")):
        asyncio.run(network.destination("http://localhost:8080/tool", []))
    with pytest.raises(ToolFailure, match=re.escape("resolves to 169.254.169.254")):
        asyncio.run(network.destination("http://169.254.169.254/latest/meta-data/", []))
    for refused in ("file:///etc/passwd", "http://user:pw@example.com/", "http://example.com:99999/"):
        with pytest.raises(ToolFailure, match=r"must be http or https|invalid port"):
            asyncio.run(network.destination(refused, []))
    AllowedDestination.objects.create(network="127.0.0.0/8", port=8080)
    AllowedDestination.objects.create(network="not a network", port=None)  # edited in the database: ignored
    allowed = network.allowed_networks()
    assert allowed == [(ipaddress.ip_network("127.0.0.0/8"), 8080)]
    reached = asyncio.run(network.destination("http://localhost:8080/tool?x=1", allowed))
    assert (reached.url, reached.host, reached.server_name) == ("http://127.0.0.1:8080/tool?x=1", "localhost:8080",
                                                                "localhost")  # fmt: skip
    with pytest.raises(ToolFailure, match="not allow-listed"):  # the allow-listed port only
        asyncio.run(network.destination("http://127.0.0.1:8081/tool", allowed))


def test_an_mcp_tools_name_is_made_of_what_models_accept():
    from apps.tools.mcp_client import local_name

    assert local_name("docs", "search.pages") == "docs_search_pages"
    assert local_name("acme", "get weather!") == "acme_get_weather_"
    assert len(local_name("s", "x" * 200)) == 64
