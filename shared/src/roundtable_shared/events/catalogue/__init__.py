"""The catalogue: every event type Roundtable's services publish, one module per producer."""

from roundtable_shared.events.catalogue import enrollment, reminders, sessions

__all__ = ["enrollment", "reminders", "sessions"]
