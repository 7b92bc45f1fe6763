"""The storefront's browsing pages: the catalog (home) and a product's page."""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from catalog.errors import ProductNotFound
from catalog.filters import ProductFilter
from catalog.models import ProductStatus, ProductType
from catalog.selectors import bundle_items_allocated, product_departments, product_get, product_list

PAGE_SIZE = 24


@require_safe
def catalog_home(request):
    filtered = ProductFilter(request.GET or None, queryset=product_list())
    products = filtered.qs if filtered.is_bound and filtered.is_valid() else product_list()
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": filtered, "page": page, "products": page.object_list, "departments": product_departments(),
        "query_string": query.urlencode(), "product_types": ProductType.choices,
        "filtering": any(request.GET.get(name) for name in ("q", "type", "departmentId")),
    }
    template = "catalog/_results.html" if getattr(request, "htmx", False) and request.htmx.target == "results" \
        else "catalog/home.html"
    return render(request, template, context)


@require_safe
def product_page(request, product_id: str):
    try:
        product = product_get(product_id=product_id)
    except ProductNotFound:
        raise Http404("No such product.") from None
    items = bundle_items_allocated(product) if product.type == ProductType.BUNDLE else []
    separately = sum((item.price for item, _ in items), 0) if items else None
    purchasable = product.status == ProductStatus.ACTIVE and (
        product.type != ProductType.BUNDLE or (items and all(i.status == ProductStatus.ACTIVE for i, _ in items)))
    return render(request, "catalog/product.html", {
        "product": product, "items": items, "separately": separately, "purchasable": purchasable,
        "metadata": product.metadata or {}})
