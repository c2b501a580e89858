"""Epochs: counters that tell processes without a shared hot store that cached state changed."""

from django.db import models


class Epoch(models.Model):
    """Bumped by any process that changes what others may have cached (credentials, catalogue).

    With Redis the hot store is shared and its entries are deleted at once; the embedded default
    keeps its hot store in each process's memory, so a process compares this row instead, at most
    once a second (apps/core/epochs.py)."""

    name = models.CharField(primary_key=True, max_length=40)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.value}"
