"""REST API for links: list an issue's (or a conversation's) links, link by URL or id, unlink.

The same rules as the issue page: permissions view_links / change_links, and the viewer's Jira account must
be able to browse the issue.
"""

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import HasPermission
from connector.errors import VendorError
from deliveries.models import TargetType
from linking import comments, selectors, services, tracker
from linking.access import browsable_issue_ids, issue_access, link_refusal
from linking.models import ConversationLink
from linking.serializers import CommentSerializer


class LinkSerializer(serializers.ModelSerializer):
    workspace_id = serializers.CharField(source="workspace.workspace_id", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)

    class Meta:
        model = ConversationLink
        fields = [
            "id",
            "site_id",
            "issue_id",
            "issue_key",
            "project_key",
            "workspace_id",
            "conversation_id",
            "target_type",
            "is_tracker",
            "source",
            "created_by",
            "teammate_name",
            "created_at",
            "health",
        ]
        read_only_fields = ["teammate_name"]


class LinkCreateSerializer(serializers.Serializer):
    issue = serializers.CharField(max_length=64, help_text="Issue key, e.g. SUP-12")
    conversation = serializers.CharField(max_length=2048, help_text="Conversation or ticket URL, or an id")
    target_type = serializers.ChoiceField(
        choices=TargetType.choices, default=TargetType.CONVERSATION,
        help_text="What a bare id is (a URL says it itself): conversation or ticket (the ticket's API id)",
    )
    tracker = serializers.BooleanField(
        default=False, help_text="Make this ticket the issue's tracker ticket (one per issue and workspace)"
    )
    site = serializers.IntegerField(required=False, help_text="Jira site id when several sites share a key")


LinkList = inline_serializer("LinkList", {"results": LinkSerializer(many=True)})
JIRA_DOWN = OpenApiResponse(description="Jira could not be asked; `detail` says why")
SITE = OpenApiParameter("site", OpenApiTypes.INT, description="Jira site id when several sites share a key")


def _refused(reason: str) -> Response:
    return Response({"detail": reason}, status=status.HTTP_403_FORBIDDEN)


def _resolve_for(request, issue_key: str, site_id: int | None, *, change: bool):
    """(resolved issue, None) when the viewer may act on it, else (None, the refusal)."""
    try:
        resolved = selectors.issue_resolve(issue_key, site_id=site_id)
    except selectors.IssueLookupError as exc:
        return None, Response({"detail": exc.message}, status=exc.status)
    refusal = link_refusal(request.user, resolved, change=change)
    if refusal:
        return None, Response({"detail": refusal.reason}, status=refusal.status)
    return resolved, None


class LinkListCreate(APIView):
    def get_permissions(self):
        code = "change_links" if self.request.method == "POST" else "view_links"
        return [HasPermission(code)()]

    @extend_schema(
        operation_id="links_list",
        parameters=[
            OpenApiParameter("issue", str, description="Issue key, e.g. SUP-12"),
            OpenApiParameter("conversation", str, description="Intercom conversation id"),
            SITE,
        ],
        responses={200: LinkList, 502: JIRA_DOWN},
        description="The links of one issue (`?issue=KEY`) or one conversation (`?conversation=ID`).",
    )
    def get(self, request):
        issue_key = request.query_params.get("issue")
        conversation_id = request.query_params.get("conversation")
        if issue_key:
            resolved, refusal = _resolve_for(request, issue_key, _int(request.query_params.get("site")), change=False)
            if refusal:
                return refusal
            target = resolved.target
            links = selectors.link_list_for_issue(target.site, target.issue_id)
            return Response({"results": LinkSerializer(links, many=True).data})
        if conversation_id:
            links = list(
                ConversationLink.objects.filter(conversation_id=conversation_id).select_related(
                    "workspace", "created_by", "site"
                )
            )
            visible = []
            try:
                for site in {link.site for link in links}:
                    ids = [link.issue_id for link in links if link.site_id == site.pk]
                    allowed = browsable_issue_ids(request.user, site, ids)
                    visible += [link for link in links if link.site_id == site.pk and link.issue_id in allowed]
            except VendorError as exc:
                return Response({"detail": f"Jira could not confirm access: {exc}"}, status=502)
            return Response({"results": LinkSerializer(visible, many=True).data})
        return Response({"detail": "Ask for ?issue=KEY or ?conversation=ID."}, status=400)

    @extend_schema(
        request=LinkCreateSerializer,
        responses={200: LinkSerializer, 201: LinkSerializer, 409: OpenApiResponse(description="Linking is off"),
                   502: JIRA_DOWN},
    )
    def post(self, request):
        data = LinkCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        resolved, refusal = _resolve_for(
            request, data.validated_data["issue"], data.validated_data.get("site"), change=True
        )
        if refusal:
            return refusal
        target, project = resolved.target, resolved.project
        try:
            ref = services.conversation_ref_for_workspace(
                data.validated_data["conversation"], project.workspace, target_type=data.validated_data["target_type"]
            )
        except services.LinkError as exc:
            return Response({"conversation": [str(exc)]}, status=400)
        tracker = data.validated_data["tracker"]
        if tracker and ref.target_type != TargetType.TICKET:
            return Response({"tracker": ["Only a ticket can be the issue's tracker."]}, status=400)
        try:
            with transaction.atomic():
                link, created = services.link_create(
                    target=target,
                    workspace=project.workspace,
                    conversation_id=ref.conversation_id,
                    target_type=ref.target_type,
                    is_tracker=tracker,
                    source="api",
                    user=request.user,
                )
        except services.LinkError as exc:
            return Response({"tracker": [str(exc)]}, status=409)
        return Response(LinkSerializer(link).data, status=201 if created else 200)


class BulkLinkSerializer(serializers.Serializer):
    issue = serializers.CharField(max_length=64, help_text="Issue key, e.g. SUP-12")
    site = serializers.IntegerField(required=False, help_text="Jira site id when several sites share a key")
    conversations = serializers.ListField(
        child=serializers.CharField(max_length=2048, allow_blank=True),
        min_length=1,
        max_length=settings.BULK_LINK_MAX,
        help_text=f"Conversation URLs or ids, up to {settings.BULK_LINK_MAX}",
    )


class BulkItemSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    conversation = serializers.CharField(source="text")
    conversation_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["linked", "already_linked", "error"])
    error = serializers.CharField()


class JiraProgressSerializer(serializers.Serializer):
    links = serializers.IntegerField()
    remote_links_written = serializers.IntegerField()
    remote_links_pending = serializers.IntegerField()
    count_pending = serializers.BooleanField()
    failed = serializers.IntegerField()
    last_error = serializers.CharField()
    done = serializers.BooleanField()


BulkOutcome = inline_serializer(
    "BulkLinkOutcome",
    {
        "issue": serializers.CharField(),
        "linked": serializers.IntegerField(),
        "already_linked": serializers.IntegerField(),
        "failed": serializers.IntegerField(),
        "results": BulkItemSerializer(many=True),
        "jira": JiraProgressSerializer(),
        "progress_url": serializers.CharField(),
    },
)


def _progress_url(target) -> str:
    return f"{reverse('api_issue_jira_progress', args=[target.issue_key])}?site={target.site.pk}"


class BulkLinkCreate(APIView):
    """Link up to BULK_LINK_MAX conversations to one issue in one call."""

    permission_classes = [HasPermission("change_links")]

    @extend_schema(
        request=BulkLinkSerializer,
        responses={200: BulkOutcome, 201: BulkOutcome, 409: OpenApiResponse(description="Linking is off"),
                   502: JIRA_DOWN},
        description="Each item is checked on its own: items that cannot be linked are reported in `results` with "
        "`status: error` and the others are linked, all in one transaction. The Jira side (remote links, count "
        "field, issue property) is written in the background at Jira's pace; `progress_url` says how far it is.",
    )
    def post(self, request):
        data = BulkLinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        resolved, refusal = _resolve_for(
            request, data.validated_data["issue"], data.validated_data.get("site"), change=True
        )
        if refusal:
            return refusal
        target, project = resolved.target, resolved.project
        with transaction.atomic():
            items = services.links_create_many(
                target=target, workspace=project.workspace, texts=data.validated_data["conversations"],
                source="api", user=request.user,
            )
        tally = {status: sum(item.status == status for item in items) for status in ("linked", "already_linked")}
        body = {
            "issue": target.issue_key,
            "linked": tally["linked"],
            "already_linked": tally["already_linked"],
            "failed": sum(item.status == "error" for item in items),
            "results": BulkItemSerializer(items, many=True).data,
            "jira": JiraProgressSerializer(selectors.jira_progress(target.site, target.issue_id)).data,
            "progress_url": _progress_url(target),
        }
        return Response(body, status=201 if tally["linked"] else 200)


class IssueJiraProgress(APIView):
    """How far the Jira side of an issue's links is written."""

    permission_classes = [HasPermission("view_links")]

    @extend_schema(parameters=[SITE], responses={200: JiraProgressSerializer, 502: JIRA_DOWN})
    def get(self, request, key: str):
        resolved, refusal = _resolve_for(request, key, _int(request.query_params.get("site")), change=False)
        if refusal:
            return refusal
        target = resolved.target
        return Response(JiraProgressSerializer(selectors.jira_progress(target.site, target.issue_id)).data)


class LinkDetail(APIView):
    def get_permissions(self):
        code = "change_links" if self.request.method == "DELETE" else "view_links"
        return [HasPermission(code)()]

    def _link(self, pk: int) -> ConversationLink | None:
        return ConversationLink.objects.select_related("site", "workspace", "created_by").filter(pk=pk).first()

    @extend_schema(responses={200: LinkSerializer, 502: JIRA_DOWN})
    def get(self, request, pk: int):
        link = self._link(pk)
        if link is None:
            return Response({"detail": "No such link."}, status=404)
        decision = issue_access(request.user, link.site, link.issue_id, link.issue_key)
        if not decision.allowed:
            return _refused(decision.reason)
        return Response(LinkSerializer(link).data)

    @extend_schema(responses={204: None, 502: JIRA_DOWN})
    def delete(self, request, pk: int):
        link = self._link(pk)
        if link is None:  # unlinking twice is not an error
            return Response(status=204)
        decision = issue_access(request.user, link.site, link.issue_id, link.issue_key)
        if not decision.allowed:
            return _refused(decision.reason)
        with transaction.atomic():
            services.link_delete(link=link, user=request.user)
        return Response(status=204)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


CommentOutcome = inline_serializer(
    "CommentOutcome",
    {
        "created": serializers.BooleanField(required=False),
        "duplicate": serializers.BooleanField(required=False),
        # a preview lists the conversation ids; a post says how many conversations it went to
        "conversations": serializers.JSONField(),
        "body_html": serializers.CharField(),
    },
)


class IssueCommentAPI(generics.GenericAPIView):
    """POST a note (or, where allowed, a reply) into the issue's linked conversations, all or chosen ones.

    `idempotency_key` makes retries safe: the same key never posts twice. With `preview: true` nothing is
    sent and the rendered HTML comes back.
    """

    serializer_class = CommentSerializer
    permission_classes = [HasPermission("view_links")]

    @extend_schema(
        parameters=[SITE],
        responses={
            200: CommentOutcome,
            201: CommentOutcome,
            502: JIRA_DOWN,
        },
    )
    def post(self, request, key: str):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        resolved, refusal = _resolve_for(request, key, _int(request.query_params.get("site")), change=False)
        if refusal:
            return refusal
        target, project = resolved.target, resolved.project
        try:
            outcome = comments.comment_submit(
                user=request.user, project=project, site_id=target.site.pk, issue_id=target.issue_id,
                body=data["body"], markup=data["markup"], message_type=data["message_type"],
                link_ids=data["conversations"], preview=data["preview"], token=data.get("idempotency_key") or "",
            )
        except comments.CommentRefused as exc:
            if exc.forbidden:
                raise PermissionDenied(str(exc)) from None
            raise ValidationError({"detail": str(exc)}) from None
        html, result = outcome.body_html, outcome.result
        if result is None:
            return Response({"body_html": html, "conversations": [link.conversation_id for link in outcome.links]})
        return Response(
            {"created": result.created, "conversations": result.targets, "duplicate": result.duplicate,
             "body_html": html},
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


TrackerOutcome = inline_serializer(
    "TrackerOutcome",
    {
        "created": serializers.BooleanField(help_text="True when the request was new (the engine creates it)"),
        "delivery_id": serializers.IntegerField(allow_null=True, help_text="The delivery that creates it"),
        "tracker": LinkSerializer(allow_null=True, help_text="The issue's tracker ticket link, once it exists"),
    },
)


class IssueTrackerAPI(APIView):
    """POST: have the connector create the issue's tracker ticket in Intercom (once per issue and workspace; the
    engine makes it within the rate limit and links it). 409 says what the project lacks (a tracker ticket type,
    a contact)."""

    permission_classes = [HasPermission("change_links")]

    @extend_schema(
        request=None,
        parameters=[SITE],
        responses={200: TrackerOutcome, 202: TrackerOutcome, 409: OpenApiResponse(description="`detail` says why"),
                   502: JIRA_DOWN},
    )
    def post(self, request, key: str):
        resolved, refusal = _resolve_for(request, key, _int(request.query_params.get("site")), change=False)
        if refusal:
            return refusal
        target, project = resolved.target, resolved.project
        try:
            with transaction.atomic():
                delivery = tracker.tracker_request(target=target, project=project, user=request.user)
        except services.LinkError as exc:
            return Response({"detail": str(exc)}, status=409)
        link = tracker.tracker_link(target.site.pk, target.issue_id, project.workspace_id)
        body = {
            "created": delivery is not None and link is None,
            "delivery_id": delivery.pk if delivery else None,
            "tracker": LinkSerializer(link).data if link else None,
        }
        return Response(body, status=202 if link is None else 200)
