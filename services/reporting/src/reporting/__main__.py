"""`python -m reporting`: run the reporting service."""

from roundtable_shared.http.serve import serve

from reporting.app import build_app
from reporting.settings import ReportingSettings

if __name__ == "__main__":
    serve(build_app, ReportingSettings())
