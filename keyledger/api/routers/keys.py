"""Product keys and the catalog (SPEC sections 5 and 6). Every change is one of the keys
domain's actions; this module parses, checks access and answers."""

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Header, Query, Router, Status
from ninja.pagination import paginate

from keyledger.access import (
    get_account_for_user,
    get_key_for_user,
    get_msp_for_user,
    get_site_for_user,
    keys_for_user,
    products,
    require,
)
from keyledger.api.auth import actor, principal, token_auth
from keyledger.api.errors import ERRORS, READ_ERRORS, ApiError, api_field_names, referenced
from keyledger.api.pagination import Pagination
from keyledger.api.schemas.common import PathId
from keyledger.api.schemas.keys import (
    KeyDetailOut,
    KeyFilter,
    KeyOut,
    MoveKeyIn,
    ProductOut,
    SourcedKeysOut,
    SourceKeysIn,
)
from keyledger.customers.models import Account, Site
from keyledger.keys import actions
from keyledger.keys.keyformat import KeyFormatError, normalise
from keyledger.keys.models import KeyEvent, Product, ProductKey
from keyledger.keys.statuses import shown_in_state
from keyledger.organisations.roles import Permission

router = Router(tags=["Product keys"], auth=token_auth)
State = ProductKey.State
# The actions name the objects; the API's clients know them by these fields.
PLACEMENT_FIELDS = {"account": "account_id", "site": "site_id"}
SOURCING_FIELDS = PLACEMENT_FIELDS | {"product": "product", "quantity": "quantity"}


def _placement(
    request: HttpRequest, account_id: int | None, site_id: int | None
) -> tuple[Account, Site | None]:
    site = (
        referenced("site_id", get_site_for_user, principal(request), site_id) if site_id is not None else None
    )
    if account_id is not None:
        return referenced("account_id", get_account_for_user, principal(request), account_id), site
    if site is None:
        raise ApiError(422, "invalid_field", "Choose the account or site.", field="account_id")
    return site.account, site


def _key(request: HttpRequest, key_id: int) -> ProductKey:
    require(principal(request), Permission.CHANGE_KEYS)
    return get_key_for_user(principal(request), key_id)


def _detail(key: ProductKey) -> ProductKey:
    """The key with its events, for KeyDetailOut: three queries however long the history."""
    events = KeyEvent.objects.select_related("actor_user__organisation").order_by("at", "id")
    return (
        ProductKey.objects.select_related("product", "account", "site")
        .prefetch_related(Prefetch("events", queryset=events))
        .get(pk=key.pk)
    )


@router.get("/products", response={200: list[ProductOut], **READ_ERRORS}, summary="The product catalog")
def list_products(request: HttpRequest) -> QuerySet[Product]:
    require(principal(request), Permission.VIEW_KEYS)
    return products()


@router.get("/keys", response={200: list[KeyOut], **READ_ERRORS}, summary="List product keys")
@paginate(Pagination)
def list_keys(request: HttpRequest, filters: Query[KeyFilter]) -> QuerySet[ProductKey]:
    require(principal(request), Permission.VIEW_KEYS)
    who = principal(request)
    qs = keys_for_user(who).select_related("product", "account", "site").order_by("created_at", "id")
    if filters.msp_id is not None:
        qs = qs.filter(msp=referenced("msp_id", get_msp_for_user, who, filters.msp_id))
    if filters.account_id is not None:
        qs = qs.filter(account=referenced("account_id", get_account_for_user, who, filters.account_id))
    if filters.site_id is not None:
        qs = qs.filter(site=referenced("site_id", get_site_for_user, who, filters.site_id))
    if filters.product:
        qs = qs.filter(product__code=filters.product)
    if filters.state:
        qs = qs.filter(shown_in_state(filters.state, timezone.now()))
    if filters.key:
        try:
            qs = qs.filter(key=normalise(filters.key))
        except KeyFormatError as exc:
            raise ApiError(422, "invalid_key_format", str(exc), field="key") from None
    return qs


@router.get(
    "/keys/{key_id}", response={200: KeyDetailOut, **READ_ERRORS}, summary="Get a key with its history"
)
def get_key(request: HttpRequest, key_id: PathId) -> ProductKey:
    require(principal(request), Permission.VIEW_KEYS)
    return _detail(get_key_for_user(principal(request), key_id))


@router.post("/keys", response={201: SourcedKeysOut, **ERRORS}, summary="Add Key(s)")
def source_keys(
    request: HttpRequest,
    payload: SourceKeysIn,
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        max_length=200,
        description="Any unique text; repeating a request with it returns the keys of the first one",
    ),
):
    """All keys of one request are created together or not at all. With the same
    `Idempotency-Key`, a retry answers with the keys already sourced; the same key with a
    different request is refused (409 idempotency_key_reused)."""
    require(principal(request), Permission.CHANGE_KEYS)
    account, site = _placement(request, payload.account_id, payload.site_id)
    product = products().filter(code=payload.product).first()
    if product is None:
        raise ApiError(422, "invalid_field", "No such product; see GET /products.", field="product")
    # Every other field the action names is one of the product's own, sent in `fields`.
    with api_field_names(SOURCING_FIELDS, others=lambda name: f"fields.{name}"):
        keys = actions.source_keys(
            product=product,
            quantity=payload.quantity,
            account=account,
            site=site,
            fields=payload.fields,
            actor=actor(request),
            idempotency_key=idempotency_key,
        )
    return Status(201, {"items": keys})


@router.post("/keys/{key_id}/move", response={200: KeyOut, **ERRORS}, summary="Move a key")
def move_key(request: HttpRequest, key_id: PathId, payload: MoveKeyIn) -> ProductKey:
    key = _key(request, key_id)
    account, site = _placement(request, payload.account_id, payload.site_id)
    with api_field_names(PLACEMENT_FIELDS):
        return actions.move_key(key=key, account=account, site=site, actor=actor(request))


@router.post("/keys/{key_id}/deactivate", response={200: KeyOut, **ERRORS}, summary="Deactivate")
def deactivate_key(request: HttpRequest, key_id: PathId) -> ProductKey:
    """A request, final at the next call home (at once for a product past its offline
    lease). On a pending reactivation it withdraws that request."""
    return actions.request_deactivation(key=_key(request, key_id), actor=actor(request))


@router.post("/keys/{key_id}/reactivate", response={200: KeyOut, **ERRORS}, summary="Reactivate")
def reactivate_key(request: HttpRequest, key_id: PathId) -> ProductKey:
    """A request, final at the next call home. On a pending deactivation it withdraws that
    request: the key stays active."""
    return actions.request_reactivation(key=_key(request, key_id), actor=actor(request))


@router.post(
    "/keys/{key_id}/withdraw", response={200: KeyOut, **ERRORS}, summary="Withdraw a pending request"
)
def withdraw_key_request(request: HttpRequest, key_id: PathId) -> ProductKey:
    return actions.withdraw_request(key=_key(request, key_id), actor=actor(request))
