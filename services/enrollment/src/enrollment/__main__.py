"""`python -m enrollment`: run the enrollment service."""

from roundtable_shared.http.serve import serve

from enrollment.app import build_app
from enrollment.settings import EnrollmentSettings

if __name__ == "__main__":
    serve(build_app, EnrollmentSettings())
