"""A transactional test must not take the default catalog away from the tests after it:
each one ends by emptying every table, and under xdist any test may follow it."""

import pytest

from keyledger.keys.models import Product

CODES = {"spmsp", "imagemanager", "gre"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("turn", [1, 2])
def test_each_transactional_test_finds_the_default_catalog(turn):
    assert set(Product.objects.values_list("code", flat=True)) >= CODES
