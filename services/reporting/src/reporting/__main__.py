"""`python -m reporting`: run the reporting service."""

from reporting.app import build_app
from reporting.settings import ReportingSettings
from roundtable_shared.http.serve import serve

if __name__ == "__main__":
    serve(build_app, ReportingSettings())
