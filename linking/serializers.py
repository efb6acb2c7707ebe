from rest_framework import serializers


class CommentSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20_000)
    message_type = serializers.ChoiceField(choices=["note", "comment"], default="note")
    markup = serializers.ChoiceField(choices=["plain", "wiki"], default="plain")
    conversations = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list)
    idempotency_key = serializers.CharField(max_length=64, required=False, allow_blank=True)
    preview = serializers.BooleanField(default=False)
