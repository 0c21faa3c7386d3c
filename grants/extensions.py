"""Extensions, created unbound; ``create_app`` binds them (no import cycles)."""
from __future__ import annotations

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate

from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from grants.models.base import Base
from grants.openapi import FondosApi

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()
api = FondosApi()
