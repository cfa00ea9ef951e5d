"""nameko's HTTP entrypoint, made safe by default: every response carries strict
security headers, every error is application/problem+json, and every route describes
itself for the OpenAPI document."""

from __future__ import annotations

import functools
import io
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import eventlet
from marshmallow import Schema, ValidationError
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug import exceptions as http_errors
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from gateway import metrics
from gateway.exceptions import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    problem,
)
from svyaz import idempotency
from svyaz.errors import ServiceError

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    # no third-party assets, no inline script, no framing, forms post only to us
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Cache-Control": "no-store",
}


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


KiB = 1024
# The body sizes a route may take, in bytes. A route that does not say takes the
# smallest, so a new route is safe by default. Text fields are counted at 6 bytes a
# character: a non-ASCII character is 6 bytes once \u-escaped in JSON or
# percent-encoded in a form.
PUBLIC_BODY = 16 * KiB  # the default: sign-in, password resets, second factor, forms
TEXT_BODY = 64 * KiB  # an application's motivation, a report's narrative, 1,000 items
WEBHOOK_BODY = 256 * KiB  # a Stripe event (a few KB; its objects can grow)
UPLOAD_BODY = 40 * 1024 * KiB  # a period's itemized report or bank statement
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def describe_size(size: int) -> str:
    return f"{size // (1024 * KiB)} MiB" if size >= 1024 * KiB else f"{size // KiB} KiB"


def is_json(mimetype: str) -> bool:
    """application/json; werkzeug has already cut off `; charset=utf-8`."""
    return mimetype == "application/json"


def chunked(request: Any) -> bool:
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


API_PREFIX = "/api/"
OPENAPI = "/api/v1/openapi.json"


class RoutedApp(WsgiApp):
    """nameko's WSGI application, answering an address no route has (404) and a
    method its route does not take (405) as the routes answer their refusals:
    problem+json under /api/, elsewhere a page in the reader's language
    (gateway.web.unrouted); both with the security headers. werkzeug's own answer
    is an English HTML page without them."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except http_errors.MethodNotAllowed as exc:
            above = page_above(adapter, request)
            response = see_other(above) if above else unrouted(request, exc)
        except http_errors.NotFound as exc:
            response = unrouted(request, exc)
        except http_errors.HTTPException as exc:  # a redirect to the canonical URL
            return exc(environ, start_response)
        else:
            request.path_values = values  # type: ignore[attr-defined]  # as nameko
            try:
                response = provider.handle_request(request)
            except http_errors.HTTPException as exc:
                return exc(environ, start_response)
        return response(environ, start_response)


def page_above(adapter: Any, request: Request) -> str | None:
    """For a console address that only takes a form (a page answered a form
    there, then reloaded, or its address opened): the nearest page above it that
    shows (`/me/payout-setup` → `/me`), where the reader is sent instead of being
    told the method is wrong; None for the API, or a method other than GET."""
    if request.method not in ("GET", "HEAD") or request.path.startswith(API_PREFIX):
        return None
    parts = request.path.rstrip("/").split("/")
    while len(parts) > 1:
        parts.pop()
        above = "/".join(parts) or "/"
        try:
            adapter.match(above, method="GET")
        except http_errors.HTTPException:
            continue
        return above
    return None


def see_other(location: str) -> Response:
    return secure(Response("", status=303, headers={"Location": location}))


PageRenderer = Callable[[Request, int], Response]
_unrouted_pages: list[PageRenderer] = []


def register_unrouted_page(render: PageRenderer) -> None:
    """The consoles' page for an address no route has (gateway.web, which builds on
    this module, registers it instead of being imported here)."""
    _unrouted_pages[:] = [render]


def unrouted(request: Request, exc: http_errors.HTTPException) -> Response:
    allowed = sorted(getattr(exc, "valid_methods", None) or ())
    if not request.path.startswith(API_PREFIX) and _unrouted_pages:
        response = _unrouted_pages[0](request, exc.code or 404)
    elif allowed:
        response = problem(
            MethodNotAllowed(
                f"{request.path} takes {', '.join(allowed)}, not {request.method}: "
                f"see the operations in {OPENAPI}",
                "method_not_allowed",
            )
        )
    else:
        response = problem(
            NotFound(
                f"no operation at {request.path}: see the operations in {OPENAPI}",
                "no_such_operation",
            )
        )
    if allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return secure(response)


class GatewayServer(WebServer):
    """The web server every gateway route shares (nameko shares it by type)."""

    def start(self) -> None:
        """As nameko's, but the port is this process's alone. nameko listens with
        SO_REUSEPORT (eventlet's default), so a second gateway on a port in use
        started without a word and the kernel would share the connections
        between the two: a gateway left running from an earlier release would go
        on serving half the requests, and two test systems that drew the same
        free port would answer each other's browsers. Now the second one fails
        to start, saying the address is in use."""
        if not self._starting:  # type: ignore[has-type]
            self._starting = True
            self._sock = eventlet.listen(self.bind_addr, reuse_port=False)
            self._sock.settimeout(None)  # as nameko's: kombu issue 838
            self._serv = self.get_wsgi_server(self._sock, self.get_wsgi_app())
            self._gt = self.container.spawn_managed_thread(self.run)

    def get_wsgi_app(self) -> RoutedApp:
        return RoutedApp(self)


class HttpEntrypoint(HttpRequestHandler):
    """`max_body`: the largest body this route takes, in bytes. `json_only`: a body
    sent to it must say `Content-Type: application/json` (the /api routes), so that
    a cross-site form (text/plain, urlencoded, multipart) cannot post to it."""

    server = GatewayServer()

    def __init__(
        self,
        method: str,
        url: str,
        *,
        max_body: int = PUBLIC_BODY,
        json_only: bool = False,
        **kwargs: Any,
    ) -> None:
        self.max_body = max_body
        self.json_only = json_only
        super().__init__(method, url, **kwargs)

    def handle_request(self, request: Any) -> Response:
        """A body longer than the route takes, or a body of another type than JSON
        to an /api route, is refused before anything reads it (and werkzeug stops
        reading a chunked body at the limit)."""
        return metrics.observe(
            self.method, self.url, request, lambda: self._handle(request)
        )

    def _handle(self, request: Any) -> Response:
        refused = self.refusal(request) or self.buffer_chunked(request)
        if refused is not None:
            return secure(problem(refused))
        request.max_content_length = self.max_body
        response: Response = super().handle_request(request)
        return response

    def refusal(self, request: Any) -> Exception | None:
        length = request.content_length
        if length is not None and length > self.max_body:
            return PayloadTooLarge(self.too_large_message(), "too_large")
        has_body = bool(length) or (length is None and chunked(request))
        if (
            self.json_only
            and has_body
            and request.method in UNSAFE_METHODS
            and not is_json(request.mimetype)
        ):
            return UnsupportedMediaType(
                "the body must be JSON, sent with Content-Type: application/json",
                "unsupported_media_type",
            )
        return None

    def buffer_chunked(self, request: Any) -> Exception | None:
        """A chunked body (no Content-Length) is read here, up to one byte past
        the limit, and handed on as a body of known length (werkzeug would read it
        as empty, or cut it at the limit without a word)."""
        if request.content_length is not None or not chunked(request):
            return None
        data = request.environ["wsgi.input"].read(self.max_body + 1)
        if len(data) > self.max_body:
            return PayloadTooLarge(self.too_large_message(), "too_large")
        request.environ["wsgi.input"] = io.BytesIO(data)
        request.environ["CONTENT_LENGTH"] = str(len(data))
        request.environ.pop("HTTP_TRANSFER_ENCODING", None)
        return None

    def too_large_message(self) -> str:
        return (
            f"the body is larger than this route takes ({describe_size(self.max_body)})"
        )

    def response_from_result(self, result: Any) -> Response:
        return secure(super().response_from_result(result))

    def response_from_exception(self, exc: Exception) -> Response:
        if isinstance(exc, RequestEntityTooLarge):  # a chunked body past the limit
            exc = PayloadTooLarge(self.too_large_message(), "too_large")
        if isinstance(exc, ValidationError):
            exc = BadRequest(
                "the request is invalid", "invalid_input", exc.messages_dict
            )
        response = problem(exc)
        if response.status_code >= 500:
            log.error("request failed: %s", type(exc).__name__)
        return secure(response)


# -- idempotency ---------------------------------------------------------------------
# Every state-changing request is one command, whatever the number of times it
# arrives (svyaz.commands): the API's `Idempotency-Key` header (as Stripe's API takes
# it; without one, a key of the request's own), a console form's hidden field (a
# fresh key each time the form is drawn). The RPC calls its handler makes carry keys
# derived from it, so the same request again answers as the first did.
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_FIELD = "idempotency_key"


def request_key(kind: str, request: Any) -> str | None:
    """The idempotency key of a request (None for a safe method): the client's, or
    a new one. An API client's key that is not 8 to 64 letters, digits, - or _ is
    refused; a form's is replaced (a page drawn before forms carried one)."""
    if request.method not in UNSAFE_METHODS:
        return None
    if kind == "api":
        given = request.headers.get(IDEMPOTENCY_HEADER)
        if given is not None and not idempotency.valid_key(given):
            raise BadRequest(
                "the Idempotency-Key header is 8 to 64 letters, digits, - or _: "
                "send a new uuid for each request you mean, the same one when you "
                "send it again",
                "invalid_idempotency_key",
                {"Idempotency-Key": ["8 to 64 letters, digits, - or _"]},
            )
    else:
        given = request.form.get(IDEMPOTENCY_FIELD)
    return given if idempotency.valid_key(given) else uuid.uuid4().hex


# -- route declarations --------------------------------------------------------------
# One declaration per route drives everything: the entrypoint, who may call it (and
# the CSRF check that goes with its method), the body and query schemas it loads, the
# schema its answer is dumped with, and the OpenAPI document. The role matrix test
# reads the same list, so what is documented is what is enforced.


# the field of a form the person confirmed (gateway.confirm)
CONFIRMED_FIELD = "confirmed"


@dataclass(frozen=True)
class Throttle:
    """The throttling of a route that checks a credential (gateway.throttles):
    its `family` (routes of one family share buckets: the API's and the console's
    sign-in alike), where its `account` comes from ("email": the body's or form's
    email field; "session": the person signed in, or half way through signing in;
    None: no account bucket), `step_up`, the field of a second-factor code that
    lets a sign-in through a full account bucket (the registry then asks for the
    right password and a valid code), and `confirm_first`: the route asks the person
    to confirm before it acts (gateway.confirm), and its first post, which only
    shows that page and checks no code, is no attempt."""

    family: str
    account: str | None = None
    step_up: str | None = None
    confirm_first: bool = False


SIGN_IN = Throttle("sign_in", account="email", step_up="code")
SECOND_FACTOR = Throttle("second_factor", account="session")
# a console form with a code that is confirmed before it is sent (releasing a run):
# the same buckets, counted when the confirmed form comes
CONFIRMED_SECOND_FACTOR = Throttle(
    "second_factor", account="session", confirm_first=True
)
APPLY = Throttle("apply", account="email")
# saving an application's draft: its own buckets, so that saving never uses up the
# attempts of sending (per address and in all: no account, no credential checked)
APPLY_DRAFT = Throttle("apply_draft")
RESET = Throttle("reset", account="email")
NEW_PASSWORD = Throttle("new_password")


@dataclass(frozen=True)
class Route:
    """`roles` None: open to everyone; otherwise a full session with one of them.
    `kind`: "api" (JSON, /api/v1), "page" (HTML console) or "raw" (health,
    static files, Stripe's webhook). `csrf`: "session" (the session's token, in the
    X-CSRF-Token header for the API and the `csrf` field for pages), "anonymous"
    (the double-submit cookie of forms before sign-in) or "none" (a safe method, or
    a route that checks its own token, said where it is declared)."""

    kind: str
    method: str
    path: str
    roles: tuple[str, ...] | None
    csrf: str
    summary: str = ""
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    # a response schema, [XSchema] for an array of them, a JSON schema (dict) as
    # it is, or None for an object the service shapes
    responses: dict[int, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    max_body: int = PUBLIC_BODY
    template: str | None = None
    redisplay: str | None = None
    throttle: Throttle | None = None

    @property
    def status(self) -> int:
        return next(iter(self.responses), 200)


ROUTES: list[Route] = []


def api_routes() -> list[Route]:
    return [route for route in ROUTES if route.kind == "api"]


def csrf_for(method: str, roles: tuple[str, ...] | None, csrf: str | None) -> str:
    if csrf is not None:
        return csrf
    if method not in UNSAFE_METHODS:
        return "none"
    return "anonymous" if roles is None else "session"


def _declare(route: Route, fn: Any, wrapper: Any) -> Any:
    ROUTES.append(route)
    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__doc__ = fn.__doc__
    wrapper.route = route
    wrapper.handler = fn
    return HttpEntrypoint.decorator(
        route.method,
        route.path,
        max_body=route.max_body,
        json_only=route.kind == "api",
        expected_exceptions=(ServiceError, ValidationError),
    )(wrapper)


# path values named `<…>_id` name a record by its UUID, but for these: a parked
# message's broker id and a parked delivery's number
NOT_UUIDS = frozenset({"message_id", "delivery_id"})


def path_ids(values: dict[str, Any]) -> dict[str, Any]:
    """The path's ids, each checked before anything is asked of a service: a
    malformed one is `invalid_id` on every route, naming it (before, a service
    checked some and answered `invalid_input`, the gateway others)."""
    for name, value in values.items():
        if name.endswith("_id") and name not in NOT_UUIDS and isinstance(value, str):
            try:
                values[name] = str(uuid.UUID(value))
            except ValueError:
                said = f"{name} in the path is not a valid id (a UUID)"
                raise BadRequest(said, "invalid_id", {name: [said]}) from None
    return values


def api(
    method: str,
    path: str,
    *,
    summary: str,
    roles: tuple[str, ...] | None,
    responses: dict[int, Any],
    tags: tuple[str, ...],
    body: type[Schema] | None = None,
    query: type[Schema] | None = None,
    max_body: int = PUBLIC_BODY,
    csrf: str | None = None,
    throttle: Throttle | None = None,
) -> Any:
    """A JSON API route. The handler is `(self, call, **path_values)`; `call.body`
    and `call.query` are already loaded by their schemas, `call.actor` is who is
    calling. It returns what the first response's schema dumps (or a Response)."""
    route = Route(
        "api",
        method,
        path,
        roles,
        csrf_for(method, roles, csrf),
        summary,
        body,
        query,
        dict(responses),
        tags,
        max_body,
        throttle=throttle,
    )

    def decorate(fn: Any) -> Any:
        def wrapper(self: Any, request: Any, **values: Any) -> Response:
            with idempotency.keyed(request_key("api", request)):
                call = self.api_call(route, request)
                result = fn(self, call, **path_ids(values))
            if isinstance(result, Response):
                return result
            with self.speaking(call):  # the answer's reasons, in the reader's words
                payload = dump(route.responses[route.status], result)
            return respond(route.status, payload)

        return _declare(route, fn, wrapper)

    return decorate


def api_group(tags: tuple[str, ...]) -> Any:
    """`api` for the routes a module documents under the same `tags`, said once
    (a route may still name its own)."""
    return functools.partial(api, tags=tags)


def page(
    method: str,
    path: str,
    *,
    roles: tuple[str, ...] | None,
    template: str | None = None,
    redisplay: str | None = None,
    max_body: int = PUBLIC_BODY,
    csrf: str | None = None,
    throttle: Throttle | None = None,
) -> Any:
    """A console route (HTML, forms, no JavaScript). The handler is
    `(self, call, **path_values)`; `call.form` holds a POST's fields, its CSRF token
    already checked. It returns a Response, or a dict that `template` renders.

    A service's refusal (invalid input, a conflict, a rule of segregation) is shown
    where it happened: `redisplay` names the method that draws the page again with
    the message (`(call, error, status, **path_values)`), often the page's own GET
    route (its handler takes `error` and `status` too); without one, a page that
    says what went wrong. Not signed in: to the sign-in page."""
    route = Route(
        "page",
        method,
        path,
        roles,
        csrf_for(method, roles, csrf),
        max_body=max_body,
        template=template,
        redisplay=redisplay,
        throttle=throttle,
    )

    def decorate(fn: Any) -> Any:
        def wrapper(self: Any, request: Any, **values: Any) -> Response:
            with idempotency.keyed(request_key("page", request)):
                return self.serve_page(route, request, fn, values)

        return _declare(route, fn, wrapper)

    return decorate


def raw(method: str, path: str, *, max_body: int = PUBLIC_BODY) -> Any:
    """A route open to everyone that answers for itself: health, static files,
    Stripe's signed webhook. The handler is `(self, request, **path_values)`."""
    route = Route("raw", method, path, None, "none", max_body=max_body)

    def decorate(fn: Any) -> Any:
        def wrapper(self: Any, request: Any, **values: Any) -> Response:
            result: Response = fn(self, request, **values)
            return result

        return _declare(route, fn, wrapper)

    return decorate


JSON = "application/json"


def respond(status: int, payload: Any) -> Response:
    return Response(json.dumps(payload), status=status, mimetype=JSON)


@functools.cache
def instance(schema: type[Schema], many: bool = False) -> Schema:
    """One instance of a schema class for every request: building one binds each
    field again (deep copies of nested and list fields), a tenth of a request's CPU
    in a profile; a schema keeps nothing of what it loads or dumps."""
    return schema(many=many)


def dump(schema: Any, value: Any) -> Any:
    if schema is None or isinstance(schema, dict):
        return value
    if isinstance(schema, list):
        return instance(schema[0], many=True).dump(value)
    return instance(schema).dump(value)


def json_body(request: Any) -> Any:
    try:
        return json.loads(request.get_data(cache=False) or b"null")
    except ValueError:
        raise BadRequest("the body is not JSON", "invalid_json") from None


def load_query(request: Any, schema: type[Schema]) -> Any:
    """The query string through a schema; unknown parameters are refused."""
    return instance(schema).load({key: request.args.get(key) for key in request.args})
