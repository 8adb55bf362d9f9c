"""What the database itself refuses for organizations, members and keys."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from orgs.models import ApiKey, Membership, Organization
from tests.factories import OrganizationFactory


@pytest.mark.parametrize("limit", [0, 10_001])
def test_concurrency_limit_outside_the_range_is_rejected(org, limit):
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.filter(pk=org.pk).update(concurrency_limit=limit)


@pytest.mark.parametrize("limit", [1, 10_000])
def test_concurrency_limit_at_the_bounds_is_stored(db, limit):
    assert OrganizationFactory(concurrency_limit=limit).concurrency_limit == limit


def test_slugs_are_unique(org):
    with pytest.raises(IntegrityError), transaction.atomic():
        OrganizationFactory(slug=org.slug)


def test_a_user_is_a_member_of_an_org_once(org, other_org):
    user = get_user_model().objects.create_user("ann")
    Membership.objects.create(user=user, organization=org)
    Membership.objects.create(user=user, organization=other_org)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, organization=org, role="viewer")


def test_membership_role_must_be_known(org):
    user = get_user_model().objects.create_user("bo")
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, organization=org, role="god")


def test_key_prefixes_are_unique(org, other_org):
    ApiKey.objects.create(organization=org, name="a", prefix="abcd1234", hashed_key="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiKey.objects.create(organization=other_org, name="b", prefix="abcd1234", hashed_key="y")
