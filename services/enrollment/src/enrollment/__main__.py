"""`python -m enrollment`: run the enrollment service."""

from enrollment.app import build_app
from enrollment.settings import EnrollmentSettings
from roundtable_shared.http.serve import serve

if __name__ == "__main__":
    serve(build_app, EnrollmentSettings())
