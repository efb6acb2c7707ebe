"""Signals connector sends upward (receivers in other apps only enqueue work)."""

from django.dispatch import Signal

# A broken or revoked connection works again (reconnected, token replaced): held work may resume.
# Sent with sender=<JiraSite|IntercomWorkspace class>, connection=<instance>.
connection_restored = Signal()
