"""Assemble the sandbox on localstripe's aiohttp application.

localstripe registers its routes when imported; the sandbox's routes
(routes.registry) are served by a middleware placed first, so they take precedence
over localstripe's where both exist (/v1/payouts, /v1/events, /v1/balance...).
The same middleware applies, in this order, to every API request (/v1/, /v2/):
fault switches, idempotency, API-key check, then the handler.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from localstripe import resources as ls_resources
from localstripe import server as ls_server
from localstripe.errors import UserError

from . import state
from .errors import StripeError
from .faults import faults
from .objects import API_VERSION, Account, Payout
from .routes import MODULES, Call, registry
from .webhooks import deliverer

log = logging.getLogger("stripe_sandbox")
API_PREFIXES = ("/v1/", "/v2/")
_in_flight: set[str] = set()


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(body, indent=2, sort_keys=True) + "\n",
        status=status,
        content_type="application/json",
    )


def error_response(error: StripeError) -> web.Response:
    return json_response(error.body(), error.status)


def has_api_key(request: web.Request) -> bool:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme == "Basic":
        import base64

        try:
            value = base64.b64decode(value).decode().split(":")[0]
        except ValueError:
            return False
    elif scheme != "Bearer":
        return False
    return value.startswith("sk_") and len(value) > 5


async def read_params(request: web.Request, family: str) -> dict[str, Any]:
    if family == "v1":
        if request.method == "POST":
            data = await ls_server.get_post_data(request)
            return dict(data or {})
        return dict(ls_server.unflatten_data(request.query))
    raw = await request.read()
    if request.method in ("POST", "PUT") and raw:
        try:
            body = json.loads(raw)
        except ValueError:
            raise StripeError(400, "The body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise StripeError(400, "The body must be a JSON object.")
        return body
    return dict(request.query)


async def call_route(request: web.Request, handler: Any) -> web.StreamResponse:
    found = registry.match(request.method, request.path)
    if found is None:
        if registry.knows_path(request.path):
            return error_response(StripeError(405, "Method not allowed"))
        if request.path.startswith("/_sandbox/"):
            return error_response(StripeError(404, "Unknown sandbox control path"))
        if request.headers.get("Stripe-Account"):
            return error_response(
                StripeError(
                    400,
                    f"The sandbox does not serve {request.path} for connected "
                    "accounts (Stripe-Account).",
                )
            )
        response: web.StreamResponse = await handler(request)
        return response
    route, args = found
    account = request.headers.get("Stripe-Account") or None
    if route.family == "v2":
        account = request.headers.get("Stripe-Context") or None
    if account and route.family != "control":
        if not isinstance(state.store.get(f"account:{account}"), Account):
            return error_response(
                StripeError(
                    403,
                    "The provided key does not have access to account "
                    f"'{account}' (or that account does not exist).",
                    code="account_invalid",
                )
            )
    try:
        params = await read_params(request, route.family)
        call = Call(
            method=request.method,
            path=request.path,
            params=params,
            args=args,
            account=account,
            base_url=state.settings.public_url or f"{request.scheme}://{request.host}",
        )
        result = route.handler(call)
        if isinstance(result, web.StreamResponse):
            return result
        return json_response(result)
    except StripeError as error:
        return error_response(error)
    except UserError as error:
        return error.to_response()
    except web.HTTPException:
        raise  # a redirect from the control API
    except Exception:
        log.exception("sandbox error on %s %s", request.method, request.path)
        return error_response(
            StripeError(500, "The sandbox failed on this request.", type="api_error")
        )
    finally:
        if request.method != "GET":
            state.save()


def fingerprint(request: web.Request, raw: bytes) -> str:
    content_type = request.headers.get("Content-Type", "")
    if "json" in content_type:
        try:
            canonical = json.dumps(json.loads(raw or b"{}"), sort_keys=True)
        except ValueError:
            canonical = raw.decode(errors="replace")
    else:
        canonical = json.dumps(
            sorted(urllib.parse.parse_qsl(raw.decode(errors="replace"), True))
        )
    text = f"{request.method} {request.path} {canonical}"
    return hashlib.sha256(text.encode()).hexdigest()


async def idempotent(
    request: web.Request,
    request_id: str,
    run: Callable[[], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    """Stripe's rules: a key names one request for its scope (platform or
    Stripe-Account). The same key with the same parameters replays the stored
    answer; with other parameters it is refused; keys expire after the TTL.
    Answers of 4xx (the request was refused before anything changed) are not
    stored, as Stripe does not store validation failures."""
    key = request.headers.get("Idempotency-Key")
    if request.method not in ("POST", "DELETE") or not key:
        return await run()
    scope = request.headers.get("Stripe-Account") or request.headers.get(
        "Stripe-Context", ""
    )
    slot = f"sandbox:idem:{scope}:{key}"
    digest = fingerprint(request, await request.read())
    saved = state.store.get(slot)
    if saved is not None and time.time() - saved["at"] > state.settings.idempotency_ttl:
        del state.store[slot]
        saved = None
    if saved is not None:
        if saved["fingerprint"] != digest:
            return error_response(
                StripeError(
                    400,
                    "Keys for idempotent requests can only be used with the same "
                    "parameters they were first used with. Try using a key other "
                    "than '" + key + "' if you meant to execute a different request.",
                    type="idempotency_error",
                )
            )
        replay = web.Response(
            body=saved["body"], status=saved["status"], content_type="application/json"
        )
        replay.headers["Idempotent-Replayed"] = "true"
        replay.headers["Original-Request"] = saved["request_id"]
        return replay
    if slot in _in_flight:
        return error_response(
            StripeError(
                409,
                "There is currently another in-progress request using this "
                "idempotency key. Try again later.",
                type="idempotency_error",
            )
        )
    _in_flight.add(slot)
    try:
        response = await run()
    finally:
        _in_flight.discard(slot)
    if isinstance(response, web.Response) and not 400 <= response.status < 500:
        body = response.body
        state.store[slot] = {
            "fingerprint": digest,
            "status": response.status,
            "body": body if isinstance(body, bytes) else b"",
            "at": time.time(),
            "request_id": request_id,
        }
    return response


@web.middleware
async def sandbox_middleware(
    request: web.Request,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    if request.path.startswith("/_sandbox/"):
        return await call_route(request, handler)
    if not request.path.startswith(API_PREFIXES):
        return await handler(request)
    request_id = state.new_id("req_", 14)
    await record(request)
    fail, lose = faults.next_request()
    if fail is not None:
        error = StripeError(
            fail,
            "Sandbox fault switch: this request was refused and changed nothing.",
            type="api_error" if fail >= 500 else "invalid_request_error",
            code="rate_limit" if fail == 429 else None,
        )
        response: web.StreamResponse = error_response(error)
    elif not has_api_key(request):
        response = error_response(
            StripeError(
                401, "You did not provide an API key.", type="invalid_request_error"
            )
        )
    else:
        state.current_request.set(
            state.RequestInfo(request_id, request.headers.get("Idempotency-Key"))
        )
        slow = faults.slow_now()

        async def run() -> web.StreamResponse:
            if slow:
                await asyncio.sleep(slow)
            return await call_route(request, handler)

        response = await idempotent(request, request_id, run)
    if request.method != "GET":
        state.save()
    if lose:
        log.info("fault: the answer to %s %s is lost", request.method, request.path)
        if request.transport is not None:
            request.transport.abort()  # the answer below goes nowhere
    response.headers["Request-Id"] = request_id
    response.headers["Stripe-Version"] = API_VERSION
    return response


async def record(request: web.Request) -> None:
    """With --request-log: every API request as one JSON line (method, path, query,
    body), so tests can see all that was sent to Stripe."""
    if state.settings.request_log is None:
        return
    body = (await request.read()).decode(errors="replace")
    line = json.dumps(
        {
            "method": request.method,
            "path": request.path,
            "query": request.query_string,
            "body": body,
            "stripe_account": request.headers.get("Stripe-Account"),
        },
        ensure_ascii=False,
    )
    with open(state.settings.request_log, "a", encoding="utf-8") as log:
        log.write(line + "\n")


def _localstripe_event(event: Any) -> None:
    body = event._export()
    body.setdefault("pending_webhooks", 1 if deliverer.url else 0)
    body.setdefault("request", {"id": None, "idempotency_key": None})
    deliverer.publish(body)


async def _on_startup(app: web.Application) -> None:
    """Forget expired idempotency keys; settle payouts left pending at shutdown."""
    from .connect import schedule_settlement
    from .v2 import resume

    expired = [
        key
        for key, value in state.store.items()
        if key.startswith("sandbox:idem:")
        and time.time() - value["at"] > state.settings.idempotency_ttl
    ]
    for key in expired:
        dict.__delitem__(state.store, key)
    state.save()
    for payout in Payout.all(any_account=True):
        if payout.status == "pending":
            schedule_settlement(payout)
    resume()


async def _on_cleanup(app: web.Application) -> None:
    state.flush()  # what changed since the last write-behind


def build(
    state_file: Any, webhook_url: str | None, webhook_secret: str
) -> web.Application:
    state.use_state_file(state_file)
    deliverer.url, deliverer.secret = webhook_url, webhook_secret
    ls_resources.schedule_webhook = _localstripe_event  # type: ignore[assignment]
    for module in MODULES:
        importlib.import_module(module)
    app = ls_server.app
    app.middlewares.insert(0, sandbox_middleware)
    app.on_startup.append(_on_startup)
    app.on_cleanup.append(_on_cleanup)
    return app
