"""REST API: rules (`/api/rules/`, manage_rules)."""

from rest_framework import viewsets

from accounts.access import HasPermission
from notifications import services
from notifications.models import NotificationRule
from notifications.serializers import RuleSerializer


class RuleViewSet(viewsets.ModelViewSet):
    queryset = NotificationRule.objects.order_by("project_id", "position", "id")
    serializer_class = RuleSerializer
    permission_classes = [HasPermission("manage_rules")]

    def perform_create(self, serializer):
        position = serializer.validated_data.get("position")
        if position is None:
            position = services.rule_next_position(serializer.validated_data.get("project"))
        serializer.save(position=position)
