from django.apps import AppConfig


class RetrievalConfig(AppConfig):
    """Retrieval: tenants' files and vector stores, their ingestion, and hybrid search (SPEC C10)."""

    name = "apps.retrieval"
    label = "retrieval"
    verbose_name = "Retrieval"
