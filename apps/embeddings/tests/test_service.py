"""The embeddings service picks the tenant's model; the local one needs no provider."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from apps.embeddings import service
from apps.embeddings.local import SPACE
from apps.tenancy import services
from apps.tenancy.principal import Principal


def principal(embedding_model: str = "") -> Principal:
    return Principal(tenant_id=1, tenant_slug="t", tier="free", method="api_key", embedding_model=embedding_model)


@pytest.mark.asyncio
async def test_without_a_model_the_packaged_one_embeds_unit_vectors_in_its_own_space(settings):
    settings.EMBEDDING_MODEL = ""
    texts = ["flights from Oslo to Rome", "flights from Rome to Oslo", ""]

    embedded = await service.embed(principal(), texts, purpose="test", request_id="r")
    many = await service.embed(principal(), texts * 4, purpose="test", request_id="r")  # off the event loop

    assert embedded.space == SPACE
    assert embedded.vectors.shape == (3, 256) and embedded.vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(embedded.vectors[:2], axis=1), 1.0)
    assert np.allclose(many.vectors[:3], embedded.vectors)


def test_the_tenants_model_wins_over_the_platforms(settings):
    settings.EMBEDDING_MODEL = "platform-embed"

    assert service.model_for(principal("tenant-embed")) == "tenant-embed"
    assert service.model_for(principal()) == "platform-embed"


@pytest.mark.django_db
def test_a_tenant_may_name_only_an_embedding_model_of_the_catalogue():
    tenant = services.tenant_onboard(slug="vectors", name="Vectors", tier="free").tenant
    tenant.embedding_model = "no-such-model"

    with pytest.raises(ValidationError) as refused:
        tenant.full_clean()

    assert list(refused.value.message_dict) == ["embedding_model"]
