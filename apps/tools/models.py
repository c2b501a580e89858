"""The tool registry: what a model may call, who approved it and which tenants may use it.

A tool's life cycle is draft → approved → live → disabled. Approval takes a second person (four
eyes: someone with the approve permission who neither created nor last changed it); a change to
what it does or who may call it (schema, URL, server, grant) sends it back to draft. Only a live
tool is ever offered to a model or executed."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"  # what OpenAI and Anthropic accept as a function name


class ToolKind(models.TextChoices):
    BUILTIN = "builtin", "Built-in"
    HTTP = "http", "HTTP"
    MCP = "mcp", "MCP"


class ToolStatus(models.TextChoices):
    DRAFT = "draft", "Draft (pending approval)"
    APPROVED = "approved", "Approved"
    LIVE = "live", "Live"
    DISABLED = "disabled", "Disabled"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class McpServer(models.Model):
    """An MCP server staff registered (streamable HTTP); its tools are imported as drafts."""

    name = models.SlugField(max_length=60, unique=True)
    url = models.URLField(max_length=500, help_text="Its streamable HTTP endpoint, e.g. https://tools.example.com/mcp")
    bearer_token = models.CharField(
        max_length=500, blank=True, help_text="Sent as `Authorization: Bearer …` to the server, if it needs one."
    )
    imported_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "MCP server"

    def __str__(self) -> str:
        return self.name


class Tool(models.Model):
    name = models.CharField(max_length=64, unique=True, validators=[RegexValidator(NAME_PATTERN)])
    description = models.TextField(max_length=2000)
    input_schema = models.JSONField(default=dict, help_text="JSON Schema (2020-12) of the arguments: an object.")
    kind = models.CharField(max_length=10, choices=ToolKind.choices, default=ToolKind.HTTP)
    status = models.CharField(max_length=10, choices=ToolStatus.choices, default=ToolStatus.DRAFT, db_index=True)
    # HTTP: a fixed URL chosen by staff; the arguments are POSTed, signed with the secret (HMAC-SHA256).
    url = models.URLField(max_length=500, blank=True)
    secret = models.CharField(max_length=100, default=new_secret, help_text="Signs each call (X-Catalyst-Signature).")
    # MCP: the server it came from and its name there.
    mcp_server = models.ForeignKey(McpServer, null=True, blank=True, on_delete=models.CASCADE, related_name="tools")
    remote_name = models.CharField(max_length=200, blank=True)
    timeout_seconds = models.FloatField(default=10.0, validators=[MinValueValidator(0.05), MaxValueValidator(300)])
    max_response_bytes = models.PositiveIntegerField(
        default=65_536, validators=[MinValueValidator(256), MaxValueValidator(10_000_000)]
    )
    cost_usd = models.DecimalField(
        max_digits=12, decimal_places=6, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))],
        help_text="Charged to the tenant per call.",
    )  # fmt: skip
    # The grant: every tier, or the tiers and tenants listed.
    all_tiers = models.BooleanField(default=False)
    tiers = models.ManyToManyField("tenancy.Tier", blank=True, related_name="tools")
    tenants = models.ManyToManyField("tenancy.Tenant", blank=True, related_name="tools")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # Who created the tool or changed what it does since its last approval: none of them may approve it.
    editors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)
        permissions = (("approve_tool", "Can approve a tool someone else created or changed"),)

    def __str__(self) -> str:
        return self.name


class AllowedDestination(models.Model):
    """A private address staff let tools reach (an internal service). Every other private,
    loopback, link-local or reserved address is refused after DNS resolution."""

    network = models.CharField(max_length=64, help_text="An address or a network: 10.0.4.7 or 10.0.4.0/24.")
    port = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: any port.")
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.network}:{self.port or '*'}"


class AgentPolicy(models.Model):
    """The tools a tenant's `pipeline: "auto"` requests of a use case may use (and so may become agent runs)."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="agent_policies")
    use_case = models.CharField(max_length=64, default="default", help_text="The X-Catalyst-Use-Case, or 'default'.")
    tools = models.ManyToManyField(Tool, related_name="policies")
    max_steps = models.PositiveIntegerField(default=8, validators=[MinValueValidator(1), MaxValueValidator(32)])

    class Meta:
        verbose_name_plural = "agent policies"
        constraints = [models.UniqueConstraint(fields=("tenant", "use_case"), name="one_agent_policy_per_use_case")]

    def __str__(self) -> str:
        return f"{self.tenant} / {self.use_case}"
