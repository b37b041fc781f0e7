"""`python -m reminders`: run the reminders service."""

from reminders.app import build_app
from reminders.settings import RemindersSettings
from roundtable_shared.http.serve import serve

if __name__ == "__main__":
    serve(build_app, RemindersSettings())
