from django.urls import include, path
from rest_framework.routers import SimpleRouter

from deliveries import api, views

router = SimpleRouter()
router.register("deliveries", api.DeliveryViewSet, basename="api_delivery")

urlpatterns = [
    path("deliveries/", views.delivery_list, name="deliveries"),
    path("deliveries/resend/", views.delivery_resend, name="delivery_resend"),
    path("deliveries/<int:pk>/", views.delivery_detail, name="delivery_detail"),
    path("api/", include(router.urls)),
]
