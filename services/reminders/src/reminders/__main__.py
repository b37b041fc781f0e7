"""`python -m reminders`: run the reminders service."""

from roundtable_shared.http.serve import serve

from reminders.app import build_app
from reminders.settings import RemindersSettings

if __name__ == "__main__":
    serve(build_app, RemindersSettings())
