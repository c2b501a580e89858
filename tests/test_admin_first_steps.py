"""A new operator's first hour in the admin: a one-step login, the report linked from the index,
human app names, an onboarding form in the admin's markup, a new owner's set-password link, copy
buttons, and charts that read well with one day of data."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from django.utils.http import urlsafe_base64_decode
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.async_api import Page, async_playwright, expect

from apps.audit.models import AuditEntry
from apps.core.management.commands.totp_code import current_code
from apps.metering.models import UsageRecord
from apps.tenancy import keys
from apps.tenancy.models import ApiKey, Tenant
from catalyst.testing.live import free_port
from tests.conftest import LOGIN_URL, PASSWORD
from tests.test_admin import wrong_token

User = get_user_model()
REPORT_URL = "/admin/metering/usagerecord/report/"
TENANTS_URL = "/admin/tenancy/tenant/"
ISSUED_URL = "/admin/tenancy/apikey/issued/"
ONBOARDING = {
    "name": "Initech",
    "slug": "initech",
    "tier": "professional",
    "team_name": "Platform",
    "owner_username": "dave",
    "owner_email": "dave@initech.test",
    "key_name": "Production",
}
LINK = re.compile(r"https?://[^/\s]+/accounts/set-password/(?P<uidb64>[\w-]+)/(?P<token>[\w-]+)/")
PAGE_LINK = re.compile(r'<code class="set-password-link" id="set-password-link">([^<]*)</code>')
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", re.IGNORECASE)  # JSON data blocks aside
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic"]


def one_step_login(client: Client, device: TOTPDevice, token: str):
    """The login form as a new operator fills it: username, password and code, no device choice."""
    data = {"username": device.user.username, "password": PASSWORD, "otp_token": token, "next": "/admin/"}
    return client.post(LOGIN_URL, data)


def inline_scripts(html: str) -> list[str]:
    """Scripts with a body that would run (a strict CSP refuses them); json_script blocks excluded."""
    return [m.group(0) for m in INLINE_SCRIPT.finditer(html) if 'type="application/json"' not in m.group(0)]


def owner_of(url: str):
    """The user a set-password link names, and whether its token is valid for them now."""
    match = LINK.fullmatch(url)
    assert match, url
    user = User.objects.get(pk=urlsafe_base64_decode(match["uidb64"]).decode())
    return user, default_token_generator.check_token(user, match["token"])


# --- one-step login ---------------------------------------------------------------------------


def test_a_user_with_one_device_signs_in_with_username_password_and_code_only(staff_device):
    client = Client()

    response = one_step_login(client, staff_device, current_code(staff_device))

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    index = client.get("/admin/")
    assert index.status_code == 200
    assert index.wsgi_request.user.is_verified() is True
    staff_device.refresh_from_db()
    assert staff_device.throttling_failure_count == 0


def test_a_user_with_several_devices_still_chooses_one_and_no_device_is_throttled(staff_device):
    laptop = TOTPDevice.objects.create(user=staff_device.user, name="laptop", confirmed=True)
    client = Client()

    response = one_step_login(client, staff_device, current_code(staff_device))

    assert response.status_code == 200
    assert list(response.context["form"].non_field_errors()) == ["Please select a device."]
    assert "_auth_user_id" not in client.session
    assert [c for c in response.context["form"].fields["otp_device"].widget.choices] == [
        ("", "---------"),
        (staff_device.persistent_id, "phone"),
        (laptop.persistent_id, "laptop"),
    ]
    for device in (staff_device, laptop):
        device.refresh_from_db()
        assert device.throttling_failure_count == 0


def test_a_wrong_code_on_the_only_device_is_refused_and_counted_against_it(staff_device):
    client = Client()

    response = one_step_login(client, staff_device, wrong_token(staff_device))

    assert response.status_code == 200
    assert list(response.context["form"].non_field_errors()) == [
        "Invalid token. Please make sure you have entered it correctly."
    ]
    assert "_auth_user_id" not in client.session
    staff_device.refresh_from_db()
    assert staff_device.throttling_failure_count == 1
    assert response.context["form"].fields["otp_device"].widget.choices == [(staff_device.persistent_id, "phone")]


# --- the index and the names on it ------------------------------------------------------------


def test_the_index_links_the_usage_report(staff_client):
    index = staff_client.get("/admin/")

    assert index.context["reports"] == [("Usage report", REPORT_URL)]
    assert f'<a href="{REPORT_URL}">Usage report</a>' in index.content.decode()
    assert staff_client.get(REPORT_URL).status_code == 200


def test_the_index_shows_no_report_to_staff_who_may_not_read_usage(db):
    user = User.objects.create_user("clerk", "clerk@catalyst.test", PASSWORD, is_staff=True)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    assert one_step_login(client, device, current_code(device)).status_code == 302

    index = client.get("/admin/")

    assert index.status_code == 200
    assert index.context["reports"] == []
    assert REPORT_URL not in index.content.decode()


def test_the_usage_record_list_links_the_report(staff_client):
    page = staff_client.get("/admin/metering/usagerecord/").content.decode()

    assert f'<a href="{REPORT_URL}" class="viewlink">Usage report and charts</a>' in page


def test_the_index_names_each_app_for_people(staff_client):
    index = staff_client.get("/admin/")

    assert [(app["app_label"], app["name"]) for app in index.context["app_list"]] == [
        ("audit", "Audit trail"),
        ("chat", "Chat and conversations"),
        ("guardrails", "Guardrails"),
        ("metering", "Metering and limits"),
        ("catalogue", "Model catalogue"),
        ("cache", "Response cache"),
        ("retrieval", "Retrieval"),
        ("responses", "Stored responses"),
        ("tenancy", "Tenants and identity"),
        ("tools", "Tools and agents"),
        ("otp_totp", "Two-factor devices"),
        ("auth", "Users and groups"),
    ]


def test_every_project_app_has_a_verbose_name_of_its_own():
    configs = [config for config in apps.get_app_configs() if config.name.startswith("apps.")]

    # Without one, Django shows the label title-cased ("Core", "Mockllm").
    assert [config.label for config in configs if "verbose_name" not in vars(type(config))] == []
    assert apps.get_app_config("core").verbose_name == "Core services"


# --- the onboarding form ----------------------------------------------------------------------


def test_the_onboarding_form_uses_the_admin_markup_and_fills_the_slug_from_the_name(staff_client):
    response = staff_client.get(f"{TENANTS_URL}add/")
    page = response.content.decode()

    assert response.status_code == 200
    assert [fieldset.name for fieldset in response.context["adminform"]] == [
        "Tenant",
        "Owner and first team",
        "First API key",
    ]
    assert page.count('<fieldset class="module aligned ') == 3
    assert '<div class="form-row field-slug">' in page
    assert '<div class="help" id="id_owner_email_helptext">' in page
    assert "admin/css/forms.css" in page
    for script in ("admin/js/urlify.js", "admin/js/prepopulate.js", "admin/js/prepopulate_init.js"):
        assert f"/static/{script}" in page
        assert finders.find(script)
    prepopulated = (
        "[{&quot;id&quot;: &quot;#id_slug&quot;, &quot;name&quot;: &quot;slug&quot;, &quot;dependency_ids&quot;: "
        "[&quot;#id_name&quot;], &quot;dependency_list&quot;: [&quot;name&quot;], &quot;maxLength&quot;: 63, "
        "&quot;allowUnicode&quot;: false}]"
    )
    assert f'data-prepopulated-fields="{prepopulated}"' in page
    assert inline_scripts(page) == []


def test_onboarding_errors_show_as_on_other_admin_forms(world, staff_client):
    response = staff_client.post(f"{TENANTS_URL}add/", {**ONBOARDING, "slug": "acme", "key_name": ""})
    page = response.content.decode()

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "slug": ["A tenant with this slug already exists."],
        "key_name": ["This field is required."],
    }
    assert '<p class="errornote">Please correct the errors below.</p>' in page
    assert '<div class="form-row errors field-slug">' in page
    assert '<ul class="errorlist" id="id_slug_error"><li>A tenant with this slug already exists.</li></ul>' in page
    assert Tenant.objects.filter(slug="initech").exists() is False


# --- a new owner's set-password link ------------------------------------------------------------


def test_onboarding_shows_the_new_owner_a_set_password_link_once_and_emails_it(world, staff_client, mailoutbox, caplog):
    caplog.set_level(logging.DEBUG)

    onboarded = staff_client.post(f"{TENANTS_URL}add/", ONBOARDING)

    assert onboarded.status_code == 302
    assert onboarded["Location"] == ISSUED_URL
    dave = User.objects.get(username="dave")
    assert dave.has_usable_password() is False
    assert staff_client.session["catalyst.new_owner"] == {"user_id": dave.pk, "emailed_to": "dave@initech.test"}
    page = staff_client.get(ISSUED_URL).content.decode()
    [shown] = PAGE_LINK.findall(page)
    assert shown.startswith("http://testserver/accounts/set-password/")
    assert owner_of(shown) == (dave, True)
    assert "It was e-mailed to dave@initech.test." in page
    assert [(mail.to, mail.subject) for mail in mailoutbox] == [
        (["dave@initech.test"], "Choose your Catalyst password")
    ]
    [emailed] = [match.group(0) for match in LINK.finditer(mailoutbox[0].body)]
    assert owner_of(emailed) == (dave, True)
    assert "http://testserver/accounts/login/" in mailoutbox[0].body

    again = staff_client.get(ISSUED_URL).content.decode()
    assert PAGE_LINK.findall(again) == []
    assert "catalyst.new_owner" not in staff_client.session
    tokens = {LINK.fullmatch(url)["token"] for url in (shown, emailed)}
    stored = [str(row) for row in AuditEntry.objects.values_list("payload", flat=True)]
    assert [t for t in tokens if any(t in row for row in stored)] == []
    assert [t for t in tokens if t in caplog.text] == []


def test_onboarding_with_an_existing_owner_shows_no_link_and_sends_no_mail(world, staff_client, mailoutbox):
    response = staff_client.post(f"{TENANTS_URL}add/", {**ONBOARDING, "owner_username": "alice"}, follow=True)

    assert response.status_code == 200
    assert PAGE_LINK.findall(response.content.decode()) == []
    assert mailoutbox == []


def test_an_owner_without_an_email_address_gets_the_link_on_the_page_only(world, staff_client, mailoutbox):
    response = staff_client.post(f"{TENANTS_URL}add/", {**ONBOARDING, "owner_email": ""}, follow=True)
    page = response.content.decode()

    [shown] = PAGE_LINK.findall(page)
    assert owner_of(shown) == (User.objects.get(username="dave"), True)
    assert "Pass it on to them yourself." in page
    assert mailoutbox == []


def test_a_mail_server_that_refuses_still_onboards_and_shows_the_link(world, staff_client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there

    response = staff_client.post(f"{TENANTS_URL}add/", ONBOARDING, follow=True)
    page = response.content.decode()

    assert response.redirect_chain == [(ISSUED_URL, 302)]
    [shown] = PAGE_LINK.findall(page)
    assert owner_of(shown) == (User.objects.get(username="dave"), True)
    assert "Pass it on to them yourself." in page
    [error] = [str(message) for message in response.context["messages"] if message.level_tag == "error"]
    assert error.startswith("Could not e-mail dave@initech.test: ")
    assert Tenant.objects.filter(slug="initech").exists() is True


def test_the_link_lets_the_owner_choose_a_password_once_and_reach_the_chat_page(world, staff_client):
    page = staff_client.post(f"{TENANTS_URL}add/", ONBOARDING, follow=True).content.decode()
    [link] = PAGE_LINK.findall(page)
    owner = Client()

    step = owner.get(link)
    assert step.status_code == 302
    form = owner.get(step["Location"])
    assert form.status_code == 200
    assert form.templates[0].name == "registration/set_password.html"
    assert form.context["validlink"] is True
    chosen = owner.post(
        step["Location"], {"new_password1": "a-new-owner-pass-77", "new_password2": "a-new-owner-pass-77"}
    )

    assert chosen.status_code == 302
    assert chosen["Location"] == "/chat/"
    dave = User.objects.get(username="dave")
    assert dave.check_password("a-new-owner-pass-77") is True
    assert owner.get("/chat/").status_code == 200
    spent = Client().get(link, follow=True)
    assert spent.context["validlink"] is False
    assert "This link has expired or was already used." in spent.content.decode()


def run(*args) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().rstrip("\n").splitlines()


def test_onboard_tenant_prints_the_set_password_link_before_the_key_and_emails_it(db, mailoutbox):
    lines = run(
        "onboard_tenant", "hooli", "--name", "Hooli", "--tier", "free", "--owner", "gavin",
        "--owner-email", "gavin@hooli.test", "--base-url", "https://catalyst.hooli.test",
    )  # fmt: skip

    gavin = User.objects.get(username="gavin")
    at = lines.index("Set-password link for gavin (works once, for 3 days):")
    assert lines[at + 1].startswith("https://catalyst.hooli.test/accounts/set-password/")
    assert owner_of(lines[at + 1]) == (gavin, True)
    assert lines[at + 2] == "E-mailed to gavin@hooli.test."
    assert keys.is_well_formed(lines[-1])
    assert ApiKey.objects.get(tenant__slug="hooli").key_hash == keys.hash_key(lines[-1])
    assert [mail.to for mail in mailoutbox] == [["gavin@hooli.test"]]
    assert "https://catalyst.hooli.test/accounts/set-password/" in mailoutbox[0].body


def test_onboard_tenant_prints_no_link_for_an_owner_who_already_exists(world, mailoutbox):
    lines = run("onboard_tenant", "hooli", "--name", "Hooli", "--tier", "free", "--owner", "alice")

    assert [line for line in lines if "set-password" in line.lower()] == []
    assert lines[-2] == f"API key {keys.prefix_of(lines[-1])} (shown once, store it now):"
    assert mailoutbox == []


# --- the issued keys page ---------------------------------------------------------------------


def test_the_issued_keys_page_has_a_copy_button_per_key(world, staff_client):
    selected = list(ApiKey.objects.values_list("pk", flat=True))
    rotate = {"action": "rotate_keys", "_selected_action": selected, "confirm": "yes", "grace_seconds": "0"}

    page = staff_client.post("/admin/tenancy/apikey/", rotate, follow=True).content.decode()

    assert re.findall(r'<td id="(issued-key-\d)"><code class="issued-key">cat_', page) == [
        "issued-key-1",
        "issued-key-2",
    ]
    assert re.findall(r'<button type="button" class="button copy-button" data-copy="([\w-]+)">Copy</button>', page) == [
        "issued-key-1",
        "issued-key-2",
    ]
    assert '<script src="/static/admin-extra/copy.js" defer></script>' in page
    assert finders.find("admin-extra/copy.js")
    assert inline_scripts(page) == []


# --- the usage report's charts ----------------------------------------------------------------


def _usage_on(tenant: Tenant, days: list[dt.date]) -> None:
    for number, day in enumerate(days):
        UsageRecord.objects.create(
            request_id=f"req_chart_{number}", tenant=tenant, endpoint="chat", model="gpt-4o", outcome="ok",
            cost_usd=Decimal("0.25"), created_at=dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC),
        )  # fmt: skip


def test_one_day_of_spend_is_drawn_as_a_bar(world, staff_client):
    day = dt.date(2026, 11, 23)
    _usage_on(world.acme, [day])

    page = staff_client.get(REPORT_URL, {"start": day, "end": day})

    assert page.context["chart"]["daily_type"] == "bar"
    assert page.context["chart"]["daily_spend"] == [0.25]
    html = page.content.decode()
    assert '"daily_type": "bar"' in html
    assert '<script src="/static/admin-extra/usage-report.js" defer></script>' in html
    assert finders.find("admin-extra/usage-report.js")
    assert inline_scripts(html) == []


def test_a_long_range_of_spend_is_drawn_as_a_line(world, staff_client):
    start = dt.date(2026, 9, 1)
    _usage_on(world.acme, [start + dt.timedelta(days=n) for n in range(40)])

    page = staff_client.get(REPORT_URL, {"start": start, "end": start + dt.timedelta(days=39)})

    assert page.context["chart"]["daily_type"] == "line"
    assert len(page.context["chart"]["days"]) == 40


def test_every_admin_page_loads_the_admin_extra_stylesheet(staff_client):
    for path in ("/admin/", TENANTS_URL, f"{TENANTS_URL}add/", REPORT_URL):
        assert '<link rel="stylesheet" href="/static/admin-extra/admin.css">' in staff_client.get(path).content.decode()
    assert finders.find("admin-extra/admin.css")


# --- in a browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_staff(django_db_blocker):
    """A superuser with one TOTP device, committed so the live server sees them."""
    with django_db_blocker.unblock():
        user = User.objects.create_superuser("browser-root", "browser-root@catalyst.test", PASSWORD)
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    yield device
    with django_db_blocker.unblock():
        Tenant.objects.filter(slug="umbrella-corp").delete()
        User.objects.filter(username="browser-root").delete()


WIDE_PAGES = (
    TENANTS_URL, "/admin/tenancy/apikey/", "/admin/tenancy/membership/", "/admin/audit/auditentry/",
    "/admin/metering/usagerecord/", REPORT_URL,
)  # fmt: skip
# The page and each table's scrolling box: what is wider than the window or than its box.
OVERFLOW = """() => {
    const wide = [];
    if (document.documentElement.scrollWidth > window.innerWidth) wide.push('page');
    for (const box of document.querySelectorAll('#changelist .results, #content table')) {
        if (box.scrollWidth > box.clientWidth + 1) wide.push(box.id || box.className || box.tagName);
    }
    return wide;
}"""


def in_browser(base_url: str, steps):
    """Run `steps(page)` in headless Chromium that may use the clipboard; return its result and what
    went wrong on the page (console errors, uncaught exceptions, responses of 400 and above)."""

    async def run_steps():
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            context = await browser.new_context(
                base_url=base_url,
                permissions=["clipboard-read", "clipboard-write"],
                viewport={"width": 1366, "height": 768},
            )
            page = await context.new_page()
            problems: list[str] = []
            page.on("console", lambda m: m.type == "error" and problems.append(f"{m.text} {m.location['url']}"))
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
            try:
                return await steps(page), problems
            finally:
                await browser.close()

    return asyncio.run(run_steps())


@pytest.mark.django_db
def test_in_a_browser_the_name_fills_the_slug_and_copy_puts_the_key_on_the_clipboard(catalyst_server, browser_staff):
    code = current_code(browser_staff)
    # The server's own base URL is 127.0.0.1; localhost is a secure context, so the clipboard API exists.
    base_url = catalyst_server.url.replace("127.0.0.1", "localhost")

    async def steps(page: Page):
        await page.goto("/admin/login/")
        await page.fill("#id_username", "browser-root")
        await page.fill("#id_password", PASSWORD)
        await page.fill("#id_otp_token", code)
        await page.click("input[type=submit]")
        await expect(page).to_have_url(base_url + "/admin/")
        await page.goto("/admin/tenancy/tenant/add/")
        await page.locator("#id_name").press_sequentially("Umbrella Corp")
        slug = await page.input_value("#id_slug")
        await page.click("input[type=submit]")
        await expect(page).to_have_url(base_url + ISSUED_URL)
        shown = (await page.locator("code.issued-key").inner_text()).strip()
        await page.click("button.copy-button")
        await expect(page.locator(".copy-status")).to_have_text("Copied to the clipboard.")
        await expect(page.locator("button.copy-button")).to_have_text("Copied")
        clipboard = await page.evaluate("navigator.clipboard.readText()")
        overflowing = {}
        for url in WIDE_PAGES:  # at 1366 px, beside the app sidebar, no table scrolls sideways
            await page.goto(url)
            overflowing[url] = await page.evaluate(OVERFLOW)
        return slug, shown, clipboard, overflowing

    (slug, shown, clipboard, overflowing), problems = in_browser(base_url, steps)

    assert slug == "umbrella-corp"
    assert clipboard == shown
    assert overflowing == {url: [] for url in WIDE_PAGES}
    key = ApiKey.objects.get(tenant__slug="umbrella-corp")
    assert key.key_hash == keys.hash_key(clipboard)
    assert problems == []
