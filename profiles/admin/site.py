"""Site admin: websites that write through the HTTP API. Keys are shown once, then only hashed.

Changing keys or secrets needs the "change site" permission (viewing sites is not enough: a new
key or secret is displayed to whoever runs the action). Admin actions run on POST only.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Sum
from django.utils.html import format_html, format_html_join

from api.models import RejectedEvent
from profiles.admin.plain import when
from profiles.models import Site
from profiles.services.sites import issue_site_key, revoke_site_key, rotate_verification_secret

UNVERIFIED_WARNING = (
    "Identity verification is off: anyone who copies this site's write key from your pages can "
    "identify as any user ID or email that was never verified on any site."
)
UNVERIFIED_DETAIL = (
    "They can then merge their device into that person's profile, change its name, email and "
    "other traits, and write page views, chats and purchases there; an email they claim here "
    "is matched by the scheduled dedup like one you entered. People whose user ID or email was "
    "verified on any site stay protected. Turn verification on and have your server send "
    "user_hash (and email_hash for an email-only identify)."
)

REJECTED_HELP = (
    "Events sent through the Segment-compatible API (/v1/) that were answered as accepted, as "
    "Segment's API does, but could not be recorded. Fix what the reason names in the website "
    "or server that sends them."
)
MAX_REASONS_SHOWN = 30


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "key_prefix", "is_active_display", "require_identity_verification",
                    "rate_limit_per_minute", "rate_limit_per_client_per_minute",
                    "rejected_total", "created_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "require_identity_verification"]
    search_fields = ["name", "=key_prefix"]
    fields = ["name", "allowed_origins", "require_identity_verification", "what_anyone_can_claim",
              "rate_limit_per_minute", "rate_limit_per_client_per_minute", "key_prefix",
              "created_at", "revoked_at", "rejected_events_summary"]
    readonly_fields = ["what_anyone_can_claim", "key_prefix", "created_at", "revoked_at",
                       "rejected_events_summary"]
    actions = ["revoke_keys", "issue_new_keys", "rotate_verification_secrets"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_rejected=Sum("rejected_events__count"))

    @admin.display(description="rejected events", ordering="_rejected")
    def rejected_total(self, obj: Site) -> str:
        return f"{getattr(obj, '_rejected', None) or 0:,}"

    @admin.display(description="Rejected events")
    def rejected_events_summary(self, obj: Site | None) -> str:
        """Events a Segment client sent that were answered as accepted but not recorded
        (api/segment/rejections.py), per reason, the most recent first."""
        if obj is None or obj.pk is None:
            return "None yet."
        rows = list(RejectedEvent.objects.filter(site=obj)[:MAX_REASONS_SHOWN])
        if not rows:
            return "None: every event this site sent was recorded or refused with an error."
        body = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((row.reason, f"{row.count:,}", when(row.first_at), when(row.last_at))
             for row in rows),
        )
        return format_html(
            "<p>{}</p><table><thead><tr><th>Why it was not recorded</th><th>Events</th>"
            "<th>First</th><th>Last</th></tr></thead><tbody>{}</tbody></table>",
            REJECTED_HELP, body,
        )

    @admin.display(boolean=True, description="active")
    def is_active_display(self, obj: Site) -> bool:
        return obj.is_active

    @admin.display(description="What anyone can claim")
    def what_anyone_can_claim(self, obj: Site | None) -> str:
        if obj is None or obj.pk is None or obj.require_identity_verification:
            return ("Nothing: a user ID is accepted only with its user_hash, and an identify "
                    "with only an email only with its email_hash, both computed by your server "
                    "with this site's secret.")
        return format_html('<strong class="errornote">{}</strong>{}', UNVERIFIED_WARNING,
                           UNVERIFIED_DETAIL)

    def save_model(self, request, obj: Site, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not obj.require_identity_verification:
            self.message_user(request, f"“{obj.name}”: {UNVERIFIED_WARNING}", messages.WARNING)
        if not change:
            key = issue_site_key(site=obj)
            self.message_user(
                request,
                format_html(
                    "Write key for “{}” (shown once — copy it now): <code>{}</code><br>"
                    "Identity verification secret (server side only, for user_hash = "
                    "HMAC-SHA256(secret, user_id) and email_hash = HMAC-SHA256(secret, "
                    "email)): <code>{}</code>",
                    obj.name, key, obj.verification_secret,
                ),
                messages.WARNING,
            )

    @admin.action(description="Revoke the write key of the selected sites",
                  permissions=["change"])
    def revoke_keys(self, request, queryset) -> None:
        for site in queryset.filter(revoked_at__isnull=True):
            revoke_site_key(site=site)
            self.log_change(request, site, "Revoked the write key.")
        self.message_user(request, "The selected keys are revoked: requests using them get 401.")

    @admin.action(description="Issue a new write key (the old one stops working)",
                  permissions=["change"])
    def issue_new_keys(self, request, queryset) -> None:
        for site in queryset:
            key = issue_site_key(site=site)
            self.log_change(request, site, "Issued a new write key.")
            # Only the hash is stored: this message is the one chance to copy the key.
            self.message_user(
                request,
                format_html("New write key for “{}” (shown once — copy it now): <code>{}</code>",
                            site.name, key),
                messages.WARNING,
            )

    @admin.action(description="Rotate the identity verification secret (old hashes stop working)",
                  permissions=["change"])
    def rotate_verification_secrets(self, request, queryset) -> None:
        for site in queryset:
            secret = rotate_verification_secret(site=site)
            self.log_change(request, site, "Rotated the identity verification secret.")
            self.message_user(
                request,
                format_html(
                    "New identity verification secret for “{}” (server side only, for "
                    "user_hash = HMAC-SHA256(secret, user_id) and email_hash): <code>{}</code>",
                    site.name, secret,
                ),
                messages.WARNING,
            )
