"""The endpoints the Jira issue panel (the Forge app in forge/) calls through Forge Remote.

Every call carries a Forge Invocation Token (`Authorization: Bearer <FIT>`), verified by connector.forge_tokens;
the viewer and the issue come from the token, never from the request, and a path naming another issue than the
token's is refused. With the user token Forge forwards (`x-forge-oauth-user`), Jira is asked about the viewer's
own permission on the issue. Thin: linking.panel decides who may see what; services and comments do the work.
"""

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from connector.forge_tokens import InvalidInvocation, KeysUnavailable, invocation_verify
from linking import comments, panel, selectors, services
from linking.models import ConversationLink
from linking.serializers import CommentSerializer


class LinkBody(serializers.Serializer):
    conversation = serializers.CharField(max_length=2048, help_text="Conversation or ticket URL, or an id")
    target_type = serializers.ChoiceField(choices=["conversation", "ticket"], default="conversation")


@extend_schema(exclude=True)  # called by the Forge app with Atlassian's tokens, not by API clients
class ForgeView(APIView):
    authentication_classes: list = []  # the Forge Invocation Token is checked in `initial`
    permission_classes = [AllowAny]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        header = request.headers.get("Authorization") or ""
        if not header.startswith("Bearer "):
            raise InvalidInvocation("The call carries no Forge Invocation Token (Authorization: Bearer …).")
        invocation = invocation_verify(header.removeprefix("Bearer ").strip())
        user_token = (request.headers.get("x-forge-oauth-user") or "").strip()
        self.panel = panel.panel_context(invocation, kwargs.get("issue", ""), user_token=user_token)

    def handle_exception(self, exc):
        if isinstance(exc, InvalidInvocation):
            return Response({"detail": str(exc)}, status=401, headers={"WWW-Authenticate": "Bearer"})
        if isinstance(exc, KeysUnavailable):
            return Response({"detail": f"{exc} Try again in a minute."}, status=503)
        if isinstance(exc, panel.PanelRefused):
            return Response({"detail": exc.message}, status=exc.status)
        return super().handle_exception(exc)

    def refuse_unless(self, allowed: bool, message: str):
        if not allowed:
            raise panel.PanelRefused(message, 403)


class PanelQuery(serializers.Serializer):
    q = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    page = serializers.IntegerField(min_value=1, max_value=100_000, required=False, default=1)


class PanelView(ForgeView):
    def get(self, request, issue: str):
        context = self.panel
        query = PanelQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(
            {
                "issue": {"id": context.target.issue_id, "key": context.target.issue_key},
                "project": context.project.project_key,
                "workspace": context.project.workspace.name,
                "viewer": {"mapped": context.user is not None},
                **panel.panel_listing(context, query=query.validated_data["q"], page=query.validated_data["page"]),
                **panel.panel_permissions(context),
            }
        )


class CountView(ForgeView):
    """The glance: how many conversations are linked (no Intercom call)."""

    def get(self, request, issue: str):
        return Response({"count": selectors.link_count(self.panel.site.pk, self.panel.target.issue_id)})


class LinkView(ForgeView):
    def post(self, request, issue: str):
        context = self.panel
        self.refuse_unless(context.may("change_links"), "You need the permission “Link and unlink conversations”.")
        self.refuse_unless(context.project.linking_enabled, f"Linking is turned off for {context.project.project_key}.")
        body = LinkBody(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            ref = services.conversation_ref_for_workspace(
                data["conversation"], context.project.workspace, target_type=data["target_type"]
            )
            with transaction.atomic():
                link, created = services.link_create(
                    target=context.target,
                    workspace=context.project.workspace,
                    conversation_id=ref.conversation_id,
                    target_type=ref.target_type,
                    source="ui",  # the panel is the issue page inside Jira
                    user=context.user,
                )
        except services.LinkError as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(
            {"id": link.pk, "type": link.target_type, "conversation_id": link.conversation_id, "created": created},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class UnlinkView(ForgeView):
    def delete(self, request, issue: str, link_id: int):
        context = self.panel
        self.refuse_unless(context.may("change_links"), "You need the permission “Link and unlink conversations”.")
        link = ConversationLink.objects.filter(
            pk=link_id, site=context.site, issue_id=context.target.issue_id
        ).select_related("workspace").first()
        if link is None:
            return Response({"detail": "That conversation is not linked to this issue (any more)."}, status=404)
        with transaction.atomic():
            services.link_delete(link=link, user=context.user)
        return Response(status=204)


class CommentView(ForgeView):
    def post(self, request, issue: str):
        context = self.panel
        needs_account = "Commenting needs a connector account mapped to your Jira account."
        self.refuse_unless(context.user is not None, needs_account)
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            outcome = comments.comment_submit(
                user=context.user, project=context.project, site_id=context.site.pk,
                issue_id=context.target.issue_id, body=data["body"], markup=data["markup"],
                message_type=data["message_type"], link_ids=data["conversations"], preview=data["preview"],
                token=data.get("idempotency_key") or "",
            )
        except comments.CommentRefused as exc:
            return Response({"detail": str(exc)}, status=403 if exc.forbidden else 400)
        result = outcome.result
        if result is None:
            chosen = [link.conversation_id for link in outcome.links]
            return Response({"body_html": outcome.body_html, "conversations": chosen})
        return Response(
            {"created": result.created, "conversations": result.targets, "duplicate": result.duplicate},
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )
