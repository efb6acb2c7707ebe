from rest_framework import serializers

from deliveries.models import Delivery


class DeliverySerializer(serializers.ModelSerializer):
    rule_name = serializers.CharField(source="rule.name", default=None)
    workspace_name = serializers.CharField(source="workspace.name")
    created_by = serializers.CharField(source="created_by.username", default=None)

    class Meta:
        model = Delivery
        fields = [
            "id", "source", "webhook_event", "rule", "rule_name", "workspace", "workspace_name", "conversation_id",
            "target_type", "issue_id", "issue_key", "action", "params", "body", "status", "verify", "attempts",
            "next_attempt_at",
            "claimed_at", "sent_at", "last_error", "part_id", "created_by", "requested_by_name", "created_at",
            "purged_at",
        ]
        read_only_fields = fields


class ResendSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=1000)
