"""GET /api/config/ exports the whole configuration (no secrets); POST imports it (all or nothing)."""

from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import HasPermission
from accounts.audit import audit_record
from operations.config_io import FORMAT_VERSION, ConfigError, config_export, config_import


class ConfigAPI(APIView):
    def get_permissions(self):
        code = "import_data" if self.request.method == "POST" else "manage_connections"
        return [HasPermission("manage_connections")(), HasPermission(code)()]

    @extend_schema(operation_id="config_export", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response(config_export())

    @extend_schema(operation_id="config_import", request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        data = request.data
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            return Response({"detail": f"Send the object export gives, with version: {FORMAT_VERSION}."}, status=400)
        try:
            counts = config_import(data, actor=request.user)
        except ConfigError as exc:
            return Response({"detail": str(exc)}, status=400)
        audit_record(actor=request.user, action="config.import", target_type="config", label="configuration",
                     after=counts, request=request)
        return Response(counts)
