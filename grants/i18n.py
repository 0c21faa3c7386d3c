"""Spanish first (El Salvador), English available. Amounts in USD."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user
from jinja2 import Undefined

from grants import formats
from grants.extensions import babel

LANG_COOKIE = "fondos_lang"
TRANSLATIONS = str(Path(__file__).resolve().parent / "translations")


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def init_i18n(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=TRANSLATIONS)
    # the one formatter of amounts for people; an amount a page does not have (undefined) shows nothing
    app.jinja_env.filters["money"] = lambda value: formats.usd(None if isinstance(value, Undefined) else value)
    # one way to write a day (dd/mm/yyyy) and a moment (dd/mm/yyyy HH:MM, El Salvador) in both languages
    app.jinja_env.filters["date"] = lambda value: formats.day(None if isinstance(value, Undefined) else value)
    app.jinja_env.filters["datetime"] = lambda value: formats.moment(None if isinstance(value, Undefined) else value)
    app.jinja_env.filters["quantity"] = lambda value: formats.quantity(None if isinstance(value, Undefined) else value)
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
