"""The OpenAPI schema's view class: every operation documents the errors it can answer with.

drf-spectacular documents only the success response; a client (or the fuzz test) then meets 400, 401, 403
and 404 answers the schema never mentioned. Every error body of this API is a JSON object: `{"detail": …}`,
or field names mapped to lists of messages.
"""

from drf_spectacular.openapi import AutoSchema as _AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(required=False, help_text="What went wrong; validation errors name fields instead")


ERROR = OpenApiResponse(ErrorSerializer, description="Refused; the body says why")


class AutoSchema(_AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        method = self.method.upper()
        extra = {"400": ERROR, "401": ERROR, "403": ERROR}
        if self._is_detail() or method in ("PUT", "PATCH", "DELETE"):
            extra["404"] = ERROR
        for code, response in extra.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses

    def _is_detail(self) -> bool:
        return "{" in self.path
