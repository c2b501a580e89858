"""The command-line surface: onboarding, tokens, the first staff device, the local demo."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.core.management.commands.totp_code import current_code
from apps.tenancy.models import ApiKey, Tenant


def run(*args) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().rstrip("\n").splitlines()


def test_onboard_tenant_prints_a_working_key_alone_on_the_last_line(db, api):
    lines = run(
        "onboard_tenant", "hooli", "--name", "Hooli", "--tier", "free", "--owner", "gavin", "--budget-usd", "99.5"
    )

    key = lines[-1]
    assert key.startswith("cat_") and " " not in key
    body = api.get("/v1/me", key).json()
    assert (body["tenant"], body["tier"]) == ("hooli", "free")
    tenant = Tenant.objects.get(slug="hooli")
    assert str(tenant.monthly_budget_usd) == "99.50"
    assert tenant.memberships.get().user.username == "gavin"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tier", "gold"], "Unknown tier 'gold'"),
        (["--tier", "free", "--budget-usd", "lots"], "--budget-usd must be a number"),
    ],
)
def test_onboard_tenant_explains_bad_input_and_creates_nothing(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("onboard_tenant", "hooli", "--name", "Hooli", *args)

    assert not Tenant.objects.filter(slug="hooli").exists()


def test_issue_token_prints_a_working_jwt_alone_on_the_last_line(world, api):
    token = run("issue_token", "--tenant", "acme", "--user", "bob")[-1]

    body = api.get("/v1/me", token).json()
    assert (body["tenant"], body["auth"], body["user_id"]) == ("acme", "jwt", world.teammate.pk)


def test_issue_token_refuses_an_outsider(world):
    with pytest.raises(CommandError, match="not an active member"):
        run("issue_token", "--tenant", "acme", "--user", "carol")


def test_create_staff_device_makes_the_first_superuser_and_prints_the_uri(db):
    lines = run("create_staff_device", "root", "--superuser", "--password", "a-long-enough-password")

    user = get_user_model().objects.get(username="root")
    device = TOTPDevice.objects.get(user=user)
    assert user.is_superuser and user.is_staff and user.check_password("a-long-enough-password")
    assert lines[-1] == device.config_url
    assert lines[-1].startswith("otpauth://totp/Catalyst%3Aroot?secret=")
    assert device.confirmed
    assert device.verify_token(current_code(device))
    with pytest.raises(CommandError, match="already has a TOTP device"):
        run("create_staff_device", "root")


def test_create_staff_device_refuses_a_user_who_is_not_staff(world):
    with pytest.raises(CommandError, match="not staff"):
        run("create_staff_device", "bob")
    assert not TOTPDevice.objects.exists()


def test_totp_code_is_refused_outside_debug(db):
    run("create_staff_device", "root", "--superuser", "--password", "a-long-enough-password")

    with pytest.raises(CommandError, match="DEBUG"):
        run("totp_code", "root")


def test_seed_demo_issues_a_fresh_working_key_each_run_and_revokes_the_last(db, api, settings):
    settings.DEBUG = True
    first = [line for line in run("seed_demo") if line][-1]
    second = [line for line in run("seed_demo") if line][-1]

    assert api.get("/v1/me", first).json()["error"]["code"] == "revoked_api_key"
    assert api.get("/v1/me", second).json()["tenant"] == "demo"
    assert ApiKey.objects.filter(tenant__slug="demo").usable().count() == 2  # the first key and the newest demo key
    assert TOTPDevice.objects.filter(user__username="admin").count() == 1
