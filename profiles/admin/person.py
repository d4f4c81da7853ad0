from django.contrib import admin

from profiles.admin.merging import MergeAdminMixin
from profiles.models import Person


@admin.register(Person)
class PersonAdmin(MergeAdminMixin, admin.ModelAdmin):
    list_display = ["id", "name", "email", "user_id", "status"]
