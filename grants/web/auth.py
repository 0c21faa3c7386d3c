"""Login, logout and language choice for people (cookie sessions, CSRF-protected)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from grants.context import current_actor
from grants import throttle
from grants.extensions import db, login_manager
from grants.i18n import LANG_COOKIE
from grants.models import User
from grants.services import auth as auth_service

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField(_l("Correo electrónico"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Contraseña"), validators=[DataRequired(), Length(max=256)])


class LogoutForm(FlaskForm):
    pass


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Inicie sesión para continuar.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(session_id: str):
        user_id, _, version = (session_id or "").partition(":")
        if not user_id.isdigit() or not version.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.active or user.session_version != int(version):
            return None
        return user

    @app.context_processor
    def _forms():
        return {"logout_form": LogoutForm(formdata=None)}  # never reads the request body


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        attempt = throttle.begin_login(form.email.data)  # shared with the API; 429 page when full
        user = auth_service.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_l("Correo o contraseña incorrectos, o la cuenta está desactivada."))
        else:
            attempt.succeeded()
            lang = session.get("lang")
            session.clear()  # no session fixation: a fresh session for the new identity
            if lang:
                session["lang"] = lang
            login_user(user)
            auth_service.record_login(current_actor(user), user, channel="web")
            return redirect(_safe_next(request.args.get("next")) or url_for("home.index"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        auth_service.logout(current_actor(user), user)
        logout_user()
        session.clear()
        flash(_l("Sesión cerrada."), "success")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def set_language():
    form = LogoutForm()  # an empty form: CSRF check only
    lang = request.form.get("lang")
    target = _safe_next(request.form.get("next")) or url_for("home.index")
    response = redirect(target)
    if form.validate_on_submit() and lang in ("es", "en"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, httponly=True,
                            samesite="Lax", secure=request.is_secure)
    return response
