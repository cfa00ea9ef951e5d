"""Server-rendered pages: templates, forms, the language, and CSRF tokens.

Templates speak through Babel catalogues (see gateway.i18n): `{{ _("…") }}` or
`{% trans %}` for words, `{{ amount_minor|money(currency) }}` for money,
`{{ code|label("payout_status") }}` for an internal code. A refusal passed as the
`error`, `message` or `bank_error` of a page may be the service's exception itself
(`error=exc`): it is shown as `refusal(lang, exc.code, exc.message)`.

Every page works with JavaScript off. A signed-in browser carries one HttpOnly,
Secure, SameSite=Strict cookie (`session`); every form carries the session's CSRF
token. Before sign-in, forms use a double-submit token (`csrf` cookie = hidden field).
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup
from werkzeug.wrappers import Request, Response

from gateway import forms, http, i18n, pages, schemas
from gateway.exceptions import BadRequest
from gateway.http import secure
from gateway.i18n import LANGUAGES, texts
from gateway.pages import FORM_LIMITS, FORM_VALUES
from svyaz.errors import ServiceError

HERE = Path(__file__).parent
SESSION_COOKIE = "session"
ANON_COOKIE = "csrf"
LANG_COOKIE = "lang"

REFUSAL_FIELDS = ("error", "message", "bank_error")


def gettext(lang: str, msgid: str) -> str:
    """A text of the catalogue in `lang` (for a handler that builds a sentence)."""
    return i18n.gettext(lang, msgid)


def refusal(lang: str, code: str | None, message: str) -> str:
    """A service's refusal as the console says it in `lang`: the translated text
    for a known code, saying what to do next; else the service's English message."""
    return i18n.refusal(lang, code, message)


def field_fault(lang: str, messages: list[str]) -> str:
    """A field's fault as its form shows it, in `lang` (gateway.i18n.field_fault)."""
    return i18n.field_fault(lang, messages)


def money(lang: str, amount_minor: int | None, currency: str | None) -> str:
    return i18n.money(lang, amount_minor, currency)


def label(lang: str, kind: str, code: str | None) -> str:
    return i18n.label(lang, kind, code)


def new_key() -> str:
    """A form's idempotency key, new each time the form is drawn (gateway.http)."""
    return uuid.uuid4().hex


# what every console form that posts carries first: the page's CSRF token and a new
# idempotency key
FORM_KEYS = Markup(
    '<input type="hidden" name="csrf" value="{}">\n'
    '<input type="hidden" name="idempotency_key" value="{}">'
)


@pass_context
def form_keys(context: Context) -> Markup:
    """`{{ form_keys() }}` at the top of a posting form: FORM_KEYS, escaped."""
    return FORM_KEYS.format(context.get("csrf", ""), new_key())


@cache
def environment(lang: str) -> Environment:
    """The templates in one language: gettext from its catalogue, and the `money`
    and `label` filters bound to it."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        i18n.translations(lang), newstyle=True
    )
    env.globals["form_limits"] = FORM_LIMITS
    env.globals["new_key"] = new_key
    env.globals["form_keys"] = form_keys
    env.globals["labels"] = i18n.LABELS
    env.globals["countries"] = i18n.countries(lang)
    env.globals["spoken_languages"] = i18n.spoken_languages(lang)
    env.globals["currency_step"] = i18n.currency_step
    env.filters["money"] = lambda amount, currency: money(lang, amount, currency)
    env.filters["label"] = lambda code, kind: label(lang, kind, code)
    env.filters["reason"] = lambda text, bare=False: i18n.entitlement_reason(
        lang, text, bare
    )
    env.filters["detail"] = lambda text: i18n.trail_detail(lang, text or "")
    env.filters["redactions"] = lambda text: i18n.redactions(lang, text or "")
    env.filters["purpose"] = lambda text: i18n.read_purpose(lang, text or "")
    env.filters["country"] = lambda code: i18n.country(lang, code)
    env.filters["last_day"] = last_day
    env.filters["day"] = lambda value: i18n.day(lang, value)
    env.filters["month"] = lambda value: i18n.month(lang, value)
    env.filters["moment"] = lambda value, seconds=False: i18n.moment(
        lang, value, seconds
    )
    return env


def last_day(end: Any) -> str:
    """A period's end as people read a range: its last day. Periods are stored
    [start, end), the end the day after; "1 to 8 December" would read as taking
    in the 8th (and «по 8» in Russian does)."""
    return (date.fromisoformat(str(end)[:10]) - timedelta(days=1)).isoformat()


def chosen_language(request: Request) -> str | None:
    """The language the reader picked on the page (`?lang`, or its cookie), if any."""
    chosen = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    return str(chosen) if chosen in LANGUAGES else None


def language(request: Request, preferred: str | None = None) -> str:
    """The page's language: the reader's pick (`?lang`, its cookie), else the
    session's (`preferred`: the person's own, learnt at sign-in), else their
    browser's. For the API an explicit Accept-Language passes the session's (a
    client asks for the language it shows)."""
    if request.path.startswith("/api/") and request.headers.get("Accept-Language"):
        preferred = None
    chosen = request.args.get("lang") or request.cookies.get(LANG_COOKIE) or preferred
    if chosen in LANGUAGES:
        return str(chosen)
    best = request.accept_languages.best_match(LANGUAGES)
    return best or "ru"


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    lang: str | None = None,
    actor: Any = None,
    csrf: str | None = None,
    cookie_secure: bool = True,
    field_errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    """The template in the reader's language, finished by gateway.forms (required
    fields marked, tables labelled for a phone; after a refusal, `field_errors`
    next to their fields and `typed` put back in the form sent to this address)."""
    lang = i18n.language_of(lang or language(request))
    anon_token = None
    if csrf is None:  # not signed in: double-submit token
        anon_token = request.cookies.get(ANON_COOKIE) or secrets.token_urlsafe(24)
        csrf = anon_token
    for name in REFUSAL_FIELDS:
        refused = context.get(name)
        if isinstance(refused, ServiceError):
            context[name] = refusal(lang, refused.code, refused.message)
    body = (
        environment(lang)
        .get_template(template)
        .render(
            t=texts(lang),
            lang=lang,
            actor=actor,
            csrf=csrf,
            template_name=template.removesuffix(".html"),
            **context,
        )
    )
    body = forms.finish(
        body,
        required_note=gettext(lang, "Fields marked * are required."),
        field_errors=field_errors,
        typed=typed,
        action=request.path,
    )
    response = Response(body, status=status, mimetype="text/html")
    if anon_token is not None:
        set_cookie(response, ANON_COOKIE, anon_token, cookie_secure)
    if request.args.get("lang") in LANGUAGES:
        set_cookie(response, LANG_COOKIE, lang, cookie_secure, max_age=31536000)
    return secure(response)


def unrouted(request: Request, status: int) -> Response:
    """The page for an address no route has (404), or a method its route does not
    take (405; a form posted to a page that only shows), in the reader's language."""
    lang = i18n.language_of(language(request))
    key = "not_found" if status == 404 else "method_not_allowed"
    return render(request, "message.html", status=status, message=texts(lang)[key])


http.register_unrouted_page(unrouted)


def set_cookie(
    response: Response,
    name: str,
    value: str,
    cookie_secure: bool,
    max_age: int | None = None,
    path: str = "/",
) -> None:
    """Every cookie the gateway sets: HttpOnly, SameSite=Strict, Secure unless
    COOKIE_SECURE is false; `path` narrows who receives it (an applicant's draft)."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        secure=cookie_secure,
        samesite="Strict",
        path=path,
        max_age=max_age,
    )


def redirect(location: str) -> Response:
    response = Response("", status=303, headers={"Location": location})
    return secure(response)


def anonymous_csrf_ok(request: Request) -> bool:
    cookie = request.cookies.get(ANON_COOKIE) or ""
    field = request.form.get("csrf") or ""
    return bool(cookie) and hmac.compare_digest(cookie.encode(), field.encode())


def typed(request: Request) -> dict[str, str]:
    """The form's fields as typed (`pages.text`: stripped, a line break one
    character, as the browser counts it)."""
    return {key: pages.text(request.form, key) for key in request.form}


def form(request: Request) -> dict[str, str]:
    """The form's fields (`typed`); a value longer than FORM_LIMITS allows (or a
    field given more than FORM_VALUES times) is refused as invalid input, so the
    handlers may read request.form afterwards."""
    errors: dict[str, list[str]] = {}
    for key, values in request.form.lists():
        most = FORM_LIMITS.get(key, schemas.WORD)
        if len(values) > FORM_VALUES:
            errors[key] = [f"More than {FORM_VALUES} values."]
        elif any(len(value) - value.count("\r\n") > most for value in values):
            errors[key] = [f"Longer than maximum length {most}."]
    if errors:
        raise BadRequest("a field is too long", "too_long", errors)
    return typed(request)


def static(name: str) -> Response:
    path = (HERE / "static" / name).resolve()
    if path.parent != (HERE / "static").resolve() or not path.is_file():
        return secure(Response("not found", status=404, mimetype="text/plain"))
    kinds = {".css": "text/css"}
    return secure(
        Response(path.read_bytes(), mimetype=kinds.get(path.suffix, "text/plain"))
    )
