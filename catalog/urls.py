from django.urls import path

from catalog.api.products import ProductDetailApi, ProductListApi, ProductPriceApi
from catalog.views.storefront import catalog_home, product_page

urlpatterns = [
    path("api/v1/catalog/products/", ProductListApi.as_view(), name="catalog-api-products"),
    path("api/v1/catalog/products/<str:product_id>/", ProductDetailApi.as_view(), name="catalog-api-product"),
    path("api/v1/catalog/products/<str:product_id>/price/", ProductPriceApi.as_view(),
         name="catalog-api-product-price"),
    path("products/<str:product_id>/", product_page, name="catalog-product"),
    path("catalog/", catalog_home, name="catalog-home"),
]
