"""The sender-pool admin: caller IDs chosen from the pool's organization's SMS numbers."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from dids.models import SenderPool
from orgs.models import Membership
from tests.admin_forms import admin_form_data
from tests.factories import DidFactory, SenderPoolFactory
from tests.queries import queries_of_get

CHANGELIST = "/admin/dids/senderpool/"


def choices(response) -> set[int]:
    return set(
        response.context["adminform"].form.fields["dids"].queryset.values_list("pk", flat=True)
    )


def test_the_changelist_counts_each_pools_caller_ids_in_one_query(admin_client, org):
    def make(n: int) -> None:
        for pool in SenderPoolFactory.create_batch(n, organization=org):
            pool.dids.set(DidFactory.create_batch(2, organization=org))

    make(3)
    few = queries_of_get(admin_client, CHANGELIST)
    make(15)
    response = admin_client.get(CHANGELIST)
    assert "column-caller_ids" in response.content.decode()
    assert queries_of_get(admin_client, CHANGELIST) == few


def test_the_change_form_offers_the_pools_orgs_sms_caller_ids(admin_client, org, other_org):
    sms = DidFactory(organization=org)
    voice_only = DidFactory(organization=org, sms_enabled=False)
    was_sms = DidFactory(organization=org, sms_enabled=False)  # in the pool already
    theirs = DidFactory(organization=other_org)
    pool = SenderPoolFactory(organization=org)
    pool.dids.set([was_sms])

    response = admin_client.get(f"{CHANGELIST}{pool.pk}/change/")

    assert response.status_code == 200
    assert choices(response) == {sms.pk, was_sms.pk}
    assert voice_only.pk not in choices(response) and theirs.pk not in choices(response)


def test_saving_a_pool_with_a_caller_id_that_cannot_text_is_refused(admin_client, org):
    sms = DidFactory(organization=org)
    was_sms = DidFactory(organization=org, e164="+14155550177", sms_enabled=False)
    pool = SenderPoolFactory(organization=org, name="Main")
    pool.dids.set([was_sms])
    url = f"{CHANGELIST}{pool.pk}/change/"
    data = admin_form_data(admin_client.get(url))

    response = admin_client.post(url, data | {"dids": [sms.pk, was_sms.pk]})
    assert response.status_code == 200
    assert "Not SMS-enabled caller IDs of Acme: +14155550177." in response.content.decode()
    assert list(pool.dids.all()) == [was_sms]

    response = admin_client.post(url, data | {"dids": [sms.pk], "rate_per_minute": 600})
    assert response.status_code == 302
    pool.refresh_from_db()
    assert (pool.rate_per_minute, list(pool.dids.all())) == (600, [sms])


def test_an_org_operator_picks_only_from_their_orgs_caller_ids(client, org, other_org):
    user = get_user_model().objects.create_user("ops", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_senderpool", "add_senderpool", "change_senderpool"]
        )
    )
    Membership.objects.create(user=user, organization=org)
    client.force_login(user)
    ours = DidFactory(organization=org)
    DidFactory(organization=other_org)
    SenderPoolFactory(organization=other_org, name="Theirs")

    add = client.get(f"{CHANGELIST}add/")

    assert add.status_code == 200
    assert choices(add) == {ours.pk}
    assert [p.name for p in client.get(CHANGELIST).context["cl"].result_list] == []
    data = admin_form_data(add) | {"organization": org.pk, "name": "Ours", "dids": [ours.pk]}
    assert client.post(f"{CHANGELIST}add/", data).status_code == 302
    assert list(SenderPool.objects.get(name="Ours").dids.all()) == [ours]
