"""Server-rendered pages for people: Spanish first, English too."""
from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    """Blueprints for people; templates and static files live beside this module."""
    from grants.web import admin, auth, home
    from grants.validation.territory import municipality_label
    from grants.web.forms import ROLE_LABELS

    @app.context_processor
    def _labels():
        return {"role_labels": ROLE_LABELS, "municipality_label": municipality_label}

    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(admin.bp)
