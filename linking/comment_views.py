"""Comment into an issue's linked conversations, from the issue page: preview, then one delivery per conversation."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.access import permission_required
from linking import comments
from linking import selectors as link_selectors
from linking.access import issue_access
from linking.forms import CommentForm


def _issue_url(key: str, site_id: int | None = None) -> str:
    return reverse("issue_detail", args=[key]) + (f"?site={site_id}" if site_id else "")


@require_POST
@permission_required("view_links")
def issue_comment(request, key: str):
    try:
        site_id = int(request.GET.get("site") or 0) or None
    except ValueError:
        site_id = None
    try:
        resolved = link_selectors.issue_resolve(key, site_id=site_id)
    except link_selectors.IssueLookupError as exc:
        messages.error(request, exc.message)
        return redirect("issue_search")
    target, project = resolved.target, resolved.project
    back = _issue_url(target.issue_key, site_id)
    decision = issue_access(request.user, target.site, target.issue_id, target.issue_key)
    if not decision.allowed:
        return render(
            request, "linking/issue_refused.html", {"key": target.issue_key, "reason": decision.reason}, status=403
        )
    links = list(link_selectors.link_list_for_issue(target.site, target.issue_id))
    form = CommentForm(request.POST, link_choices=[(link.pk, link.conversation_id) for link in links])
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(back)
    data = form.cleaned_data
    try:
        outcome = comments.comment_submit(
            user=request.user, project=project, site_id=target.site.pk, issue_id=target.issue_id,
            body=data["body"], markup=data["markup"], message_type=data["message_type"],
            link_ids=data["conversations"], preview="preview" in request.POST, token=data["form_token"],
            token_from_content=True,
        )
    except comments.CommentRefused as exc:
        messages.error(request, str(exc))
        return redirect(back)
    if outcome.result is None:
        return render(
            request,
            "linking/comment_preview.html",
            {
                "issue": target,
                "project": project,
                "form": form,
                "data": data,
                "body_html": outcome.body_html,
                "chosen": outcome.links,
                "token": outcome.token,
                "action": request.get_full_path(),
                "back": back,
            },
        )
    result = outcome.result
    kind = "note" if data["message_type"] == "note" else "reply"
    if result.duplicate:
        messages.info(request, f"This {kind} was already sent; the second submission was ignored.")
    else:
        messages.success(
            request,
            f"Your {kind} is on its way to {result.created} conversation{'s' if result.created != 1 else ''}. "
            "Its progress is in the delivery log.",
        )
    return redirect(back)
