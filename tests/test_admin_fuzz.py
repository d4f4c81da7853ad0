"""Hypothesis fuzzes every custom admin view's parameters: no combination is a 500.

The views are found from the URL resolver (every admin URL that is not one of Django's own
ModelAdmin or AdminSite pages, plus the two Django pages whose parameters we read ourselves);
their parameters from their source (`GET.get("…")`, `POST.getlist("…")`, `data.get("…")`).
Values: odd digits ("²", "①", "٣"), NUL, huge and negative numbers, stale keys, real IDs, and
any text; GET and POST; as a superuser, Support staff and view-only staff. The parameters the
issue found crashing views are always tried first (`@example`), the rest is explored.
"""

from __future__ import annotations

import inspect
import re
import sys
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.admin_urls import admin_patterns, build_examples, model_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DJANGO_SITE_PAGES = {None, "index", "login", "logout", "password_change",
                     "password_change_done", "autocomplete", "jsi18n", "view_on_site",
                     "app_list", "auth_user_password_change"}
DJANGO_MODEL_PAGES = ("_changelist", "_add", "_change", "_delete", "_history")
# Django's pages whose parameters our code reads (the person search, the timeline page).
OURS_ON_DJANGO_PAGES = {"profiles_person_changelist", "profiles_person_change"}
PARAMETER = re.compile(r"""(?:GET|POST|data)\s*\.\s*(?:get|getlist)\(\s*["']([^"']+)["']""")
# Names a view builds at run time (the merge preview's radios) or Django's own list reads.
ALWAYS = ["choice:city", "default:city", "choice:attributes.plan", "q", "p", "o",
          "timeline_page", "merged", "post", "ids"]
ODD = ["", "0", "-1", "²", "①", "٣", "１", "9" * 30, "1e9", "zzzz", "~", "\x00", "a\x00b",
       "%00", "../..", "<b>", "\u202e", "NaN", "[]", "{}", "null", " 1 ", "yes", "1,2"]


def custom_views() -> dict[str, tuple[str, object]]:
    views = {}
    for name, route, pattern in admin_patterns():
        if name in DJANGO_SITE_PAGES:
            continue
        if name.endswith(DJANGO_MODEL_PAGES) and not name.endswith("_simple_history") \
                and name not in OURS_ON_DJANGO_PAGES:
            continue
        views[name] = (route, pattern.callback)
    return views


def parameters_of(callback) -> list[str]:
    """The request parameters the view's module reads, and the ones always tried."""
    view = getattr(callback, "view_class", None) or inspect.unwrap(callback)
    view = getattr(view, "__func__", view)
    source = inspect.getsource(sys.modules[view.__module__])
    return sorted(set(PARAMETER.findall(source)) | set(ALWAYS))


CUSTOM = custom_views()


def test_the_custom_views_are_found():
    assert {"profiles_person_merge_preview", "profiles_person_duplicates",
            "profiles_person_delete_people", "profiles_person_merge",
            "profiles_mergerecord_undo", "dedup_deduprun_run_now", "dedup_deduprun_report",
            "dedup_deduprun_report_csv", "profiles_person_simple_history"} <= set(CUSTOM)
    assert {"ids", "base", "after", "before", "by"} <= set(
        parameters_of(CUSTOM["profiles_person_merge_preview"][1])
        + parameters_of(CUSTOM["profiles_person_duplicates"][1]))


@pytest.fixture
def fuzz_world():
    examples = build_examples()
    ids = sorted({str(obj.pk) for objects in examples.values() for obj in objects.values()})
    support = UserFactory(username="fuzz-support")
    support.groups.add(Group.objects.get(name="Support staff"))
    viewer = UserFactory(username="fuzz-viewer")
    viewer.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    users = {"root": UserFactory(username="fuzz-root", is_superuser=True),
             "support": support, "viewer": viewer}
    clients = {}
    for role, user in users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    return examples, ids, clients


def _path(route: str, model, examples, object_id: str, version: str) -> str:
    """The route with fuzzed (or real) IDs put in."""
    path = "/" + route.replace("^", "").replace("$", "")
    path = path.replace("([^/]+)", quote(object_id, safe=""), 1)
    path = path.replace("([^/]+)", quote(version, safe=""), 1)
    return re.sub(r"<(?:\w+:)?\w+>", quote(object_id, safe=""), path)


@pytest.mark.parametrize("name", sorted(CUSTOM))
def test_no_parameter_makes_a_custom_admin_view_fail(fuzz_world, name):
    examples, ids, clients = fuzz_world
    route, callback = CUSTOM[name]
    names = parameters_of(callback)
    # Odd values three times as often as any text: they are where the bugs were.
    odd = st.sampled_from(ODD)
    value = st.one_of(odd, odd, odd, st.sampled_from(ids), st.text(max_size=30),
                      st.integers(-(10**20), 10**20).map(str))

    @settings(max_examples=60, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(params=st.dictionaries(st.sampled_from(names), st.lists(value, min_size=1,
                                                                  max_size=3), max_size=5),
           method=st.sampled_from(["get", "post"]), role=st.sampled_from(sorted(clients)),
           object_id=st.one_of(st.sampled_from(ids), st.sampled_from(ODD)),
           version=st.one_of(st.sampled_from(ids), st.sampled_from(ODD)))
    @example(params={"ids": ["²"]}, method="get", role="root", object_id="1", version="1")
    @example(params={"ids": ["①", "1"]}, method="post", role="root", object_id="²",
             version="1")
    @example(params={"ids": ids[:2], "base": ["99999999"]}, method="get", role="root",
             object_id="1", version="99999999")
    @example(params={"after": ["zzzz"]}, method="get", role="viewer", object_id="1",
             version="1")
    @example(params={"before": ["0"], "by": ["phone"]}, method="get", role="root",
             object_id="9" * 30, version="1")
    @example(params={"after": ["\x00"]}, method="get", role="root", object_id="1",
             version="1")
    def request_once(params, method, role, object_id, version):
        path = _path(route, model_of(route), examples, object_id, version)
        savepoint = transaction.savepoint()
        try:
            response = getattr(clients[role], method)(path, params)
        finally:
            transaction.savepoint_rollback(savepoint)
        assert response.status_code < 500, (method, path, params, response.status_code)

    request_once()
