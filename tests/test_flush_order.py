"""A transactional test must not take the default catalog away from the tests after it
(pytest-django runs transactional tests last, one after another, each ending in a flush)."""

import pytest

from keyledger.keys.models import Product


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("turn", [1, 2])
def test_each_transactional_test_finds_the_default_catalog(turn):
    assert set(Product.objects.values_list("code", flat=True)) >= {"spmsp", "imagemanager", "gre"}
