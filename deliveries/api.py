"""REST API: deliveries (`/api/deliveries/`, view_operations; resend needs resend)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from accounts.access import HasPermission
from deliveries import selectors, services
from deliveries.forms import DeliveryFilterForm
from deliveries.serializers import DeliverySerializer, ResendSerializer

Resent = inline_serializer("Resent", {"resent": serializers.IntegerField(help_text="Deliveries queued again")})


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """GET /api/deliveries/?status=&source=&action=&rule=&workspace=&issue= ; POST …/resend/ (resend permission)."""

    serializer_class = DeliverySerializer
    permission_classes = [HasPermission("view_operations")]

    def get_queryset(self):
        if self.action != "list":
            return selectors.delivery_filter({})
        form = DeliveryFilterForm(self.request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors)
        return selectors.delivery_filter(form.cleaned_data)

    def _resend(self, ids):
        if not self.request.user.has_perm("accounts.resend"):
            raise PermissionDenied("You need the permission “Resend deliveries and reprocess events”.")
        return Response({"resent": services.delivery_resend(ids=ids)})

    @extend_schema(request=None, responses=Resent, operation_id="deliveries_resend_one")
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        return self._resend([self.get_object().pk])

    @extend_schema(request=ResendSerializer, responses=Resent, operation_id="deliveries_resend_many")
    @action(detail=False, methods=["post"], url_path="resend")
    def resend_many(self, request):
        body = ResendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._resend(body.validated_data["ids"])
