"""Rasa's SQL tracker store (endpoints.yml), with one change: a conversation whose person
confirmed "delete my data" is deleted instead of saved.

The action server cannot delete the conversation itself: the Rasa server saves the tracker
after every message, inserting the events it has beyond those stored, so rows deleted from
outside would be written back. Here the save that ends the deleting turn removes every row of
the conversation instead; the reply has already gone to the channel by then, and the next
message finds no tracker and starts a new conversation (with its red-flag checks) from scratch.
"""

from __future__ import annotations

from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from clinic.privacy import DATA_DELETED_SLOT


class ErasableSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A failed insert's error message would otherwise quote the event: the person's words.
        self.engine.hide_parameters = True

    async def save(self, tracker: DialogueStateTracker) -> None:
        if tracker.get_slot(DATA_DELETED_SLOT):
            self.delete_conversation(tracker.sender_id)
        else:
            await super().save(tracker)

    def delete_conversation(self, sender_id: str) -> None:
        with self.session_scope() as session:
            session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == sender_id).delete()
            session.commit()
