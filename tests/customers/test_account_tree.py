from keyledger.access import account_tree_for_user
from keyledger.testing.tree import make_account, make_site


def test_the_tree_lists_accounts_and_sites_by_name_ignoring_case(tree, django_assert_num_queries):
    zed = make_account(tree.msp_a1, "zed Works")
    make_site(tree.account_a1, "annex")
    make_site(zed, "Zed One")

    with django_assert_num_queries(2):
        accounts = account_tree_for_user(tree.msp_a1_member, tree.msp_a1)
        shape = [(a.name, [s.name for s in a.sites.all()]) for a in accounts]

    assert shape == [("Alpha Dental", ["Alpha Dental Main Street", "annex"]), ("zed Works", ["Zed One"])]


def test_the_tree_of_an_msp_outside_the_users_subtree_is_empty(tree):
    assert account_tree_for_user(tree.msp_a2_admin, tree.msp_a1) == []
    assert account_tree_for_user(tree.dist_b_admin, tree.msp_a1) == []
    assert [a.name for a in account_tree_for_user(tree.dist_a_admin, tree.msp_a1)] == ["Alpha Dental"]
