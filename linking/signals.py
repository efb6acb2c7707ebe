"""Signals other apps listen to (notifications turns them into notes). Sent after the link change commits.

Both are sent with `sender=ConversationLink, link=<instance>, user=<user or None>`, `teammate_name` (the Intercom
teammate who did it from the Inbox, else "") and a `reason`
("ui", "api", "url", "inbox", "import" for links; "unlinked", "issue_deleted", "url_removed" for removals).
A removed link's instance is no longer in the database but keeps its field values.
"""

from django.dispatch import Signal

link_created = Signal()
link_removed = Signal()
# Many links made at once (bulk linking): sent once with `links=[<instance>, ...]`, `user` and `reason`.
links_created = Signal()
