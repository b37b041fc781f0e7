"""`python -m sessions`: run the sessions service."""

from roundtable_shared.http.serve import serve
from sessions.app import build_app
from sessions.settings import SessionsSettings

if __name__ == "__main__":
    serve(build_app, SessionsSettings())
