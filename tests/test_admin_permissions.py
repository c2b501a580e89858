"""Staff see what their permissions allow, and no more: usage reports need the usage permission;
a request's story shows money only to staff who may view usage, and prompt text only to staff
who may view chat messages of a tenant that keeps prompts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from apps.audit.trail import event, record_now
from apps.chat.models import Conversation, Message
from apps.metering.models import UsageRecord

from .conftest import staff_signed_in as staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(world):
    """One chat request of acme: its audit entry, usage record and answer in a titled conversation."""
    record_now(event("generation.chat", actor_type="user", actor="user:1", tenant_id=world.acme.pk,
                     tenant_slug="acme", request_id="req_secret"))  # fmt: skip
    UsageRecord.objects.create(
        request_id="req_secret", tenant=world.acme, endpoint="chat", model="gpt-mock", outcome="ok",
        cost_usd=Decimal("0.004242"),
    )  # fmt: skip
    conversation = Conversation.objects.create(tenant=world.acme, user=world.owner, title="My salary is 91,000")
    Message.objects.create(
        conversation=conversation, tenant=world.acme, user_id=world.owner.pk, client_id="c1", role="assistant",
        request_id="req_secret",
    )  # fmt: skip
    return reverse("admin:audit_request_story", args=["req_secret"])


def test_staff_without_the_usage_permission_cannot_read_reports_or_their_csv(world):
    nobody = staff("nobody")
    reader = staff("reader", "metering.view_usagerecord")

    assert nobody.get("/admin/metering/usagerecord/report/").status_code == 403
    assert nobody.get("/admin/metering/usagerecord/report.csv").status_code == 403
    assert reader.get("/admin/metering/usagerecord/report/").status_code == 200
    assert reader.get("/admin/metering/usagerecord/report.csv").status_code == 200


def test_an_auditor_reads_the_story_without_its_money_or_its_words(story):
    page = staff("auditor", "audit.view_auditentry").get(story).content.decode()

    assert "generation.chat" in page
    assert "0.004242" not in page
    assert "My salary" not in page
    assert "needs the permission to view usage records" in page
    assert "needs the permission to view chat messages" in page


def test_the_words_of_a_tenant_that_keeps_no_prompts_stay_out_of_the_story(story, world):
    everything = ("audit.view_auditentry", "metering.view_usagerecord", "chat.view_message")
    page = staff("full", *everything).get(story).content.decode()

    world.acme.keep_prompts = True
    world.acme.save()
    kept = staff("full2", *everything).get(story).content.decode()

    assert "0.004242" in page
    assert "My salary" not in page
    assert "the tenant does not keep prompts" in page
    assert "My salary is 91,000" in kept
