"""REST API: rules (`/api/rules/`, manage_rules), deliveries (`/api/deliveries/`, view_operations; resend
needs resend) and comments into an issue's linked conversations (`/api/issues/<KEY>/comments/`)."""

from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from accounts.access import HasPermission
from linking import selectors as link_selectors
from linking.access import issue_access
from notifications import selectors, services
from notifications.forms import DeliveryFilterForm
from notifications.models import NotificationRule
from notifications.serializers import CommentSerializer, DeliverySerializer, ResendSerializer, RuleSerializer


class RuleViewSet(viewsets.ModelViewSet):
    queryset = NotificationRule.objects.order_by("project_id", "position", "id")
    serializer_class = RuleSerializer
    permission_classes = [HasPermission("manage_rules")]

    def perform_create(self, serializer):
        position = serializer.validated_data.get("position")
        if position is None:
            position = services.rule_next_position(serializer.validated_data.get("project"))
        serializer.save(position=position)


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

    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        return self._resend([self.get_object().pk])

    @action(detail=False, methods=["post"], url_path="resend")
    def resend_many(self, request):
        body = ResendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._resend(body.validated_data["ids"])


class IssueCommentAPI(generics.GenericAPIView):
    """POST a note (or, where allowed, a reply) into the issue's linked conversations, all or chosen ones.

    `idempotency_key` makes retries safe: the same key never posts twice. With `preview: true` nothing is
    sent and the rendered HTML comes back.
    """

    serializer_class = CommentSerializer
    permission_classes = [HasPermission("view_links")]

    def post(self, request, key: str):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            resolved = link_selectors.issue_resolve(key, site_id=_int(request.query_params.get("site")))
        except link_selectors.IssueLookupError as exc:
            return Response({"detail": exc.message}, status=exc.status)
        target, project = resolved.target, resolved.project
        decision = issue_access(request.user, target.site, target.issue_id, target.issue_key)
        if not decision.allowed:
            raise PermissionDenied(decision.reason)
        html = services.comment_html(data["body"], markup=data["markup"])
        try:
            services.comment_check(user=request.user, project=project, message_type=data["message_type"])
            links = services.comment_links(
                site_id=target.site.pk, issue_id=target.issue_id, link_ids=data["conversations"]
            )
            if data["preview"]:
                return Response({"body_html": html, "conversations": [link.conversation_id for link in links]})
            result = services.comment_post(
                user=request.user, project=project, links=links, body_html=html, message_type=data["message_type"],
                token=data.get("idempotency_key") or services.comment_form_token(),
            )
        except services.CommentRefused as exc:
            if exc.forbidden:
                raise PermissionDenied(str(exc)) from None
            raise ValidationError({"detail": str(exc)}) from None
        return Response(
            {"created": result.created, "conversations": result.targets, "duplicate": result.duplicate,
             "body_html": html},
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
