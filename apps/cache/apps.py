from django.apps import AppConfig


class CacheConfig(AppConfig):
    """The response cache: policies per tenant, tier and use case, and the cache stage."""

    name = "apps.cache"
    label = "cache"
    verbose_name = "Response cache"
