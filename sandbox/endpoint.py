"""The one opening every simulated platform endpoint shares.

Each platform describes its rules once in a :class:`Dialect` (its error class and envelope,
how it injects faults, reads parameters, authenticates, refuses unusable accounts and counts
quotas). ``dialect.endpoint(...)`` wraps a view so that its body is only the endpoint's logic::

    @bp.route("/cgi-bin/draft/add", methods=["GET", "POST"])
    @WECHAT.endpoint(method="POST", usable=True, quota="draft/add")
    def draft_add(call: Call) -> Response:
        ...  # call.state (locked), call.params, call.account

The opening runs in this order: injected fault → method → parameters → lock → settle →
authentication → usable account → quota. Platform errors raised anywhere in the view become
the platform's own error answer, also for routes registered outside the platform's blueprint
(``sandbox/interaction.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response

from sandbox.common import FaultRenderer, get_state, run_faults
from sandbox.state import Account, SandboxState, Token


@dataclass
class Call:
    """What a view receives: the locked state, the request parameters and the caller."""

    state: SandboxState
    params: dict[str, Any]
    platform: str
    caller: Account | None = None
    token: Token | None = None

    @property
    def account(self) -> Account:
        """The authenticated account (only on endpoints opened with ``auth=True``)."""
        if self.caller is None:
            raise RuntimeError("endpoint opened without auth has no account")
        return self.caller


#: ``(state, params, platform) -> (account, token or None)``; raises the platform's error.
Authenticate = Callable[[SandboxState, dict[str, Any], str], tuple[Account, Token | None]]


@dataclass(frozen=True)
class Dialect:
    """How one platform opens its endpoints and answers errors."""

    name: str
    error: type[Exception]
    render_error: Callable[[Any, str], Response]
    fault_path: Callable[[str], str]
    fault_response: Callable[[str], FaultRenderer]
    require_method: Callable[[str], None]
    read_params: Callable[[], dict[str, Any]]
    authenticate: Authenticate
    require_usable: Callable[[Account], None]
    take_quota: Callable[[SandboxState, Account, str], None] | None = None

    def endpoint(
        self,
        *,
        method: str | None = "POST",
        params: bool = True,
        auth: bool = True,
        usable: bool = False,
        quota: str | None = None,
        settle: Callable[[SandboxState], None] | None = None,
        platform: str | None = None,
    ) -> Callable[[Callable[[Call], Response]], Callable[..., Response]]:
        """Wrap a view ``fn(call)``. ``platform`` defaults to the dialect's name (Douyin's
        dialect serves "douyin" and "toutiao")."""
        opening = Opening(platform or self.name, method, params, auth, usable, quota, settle)

        def decorate(fn: Callable[[Call], Response]) -> Callable[..., Response]:
            @functools.wraps(fn)
            def view(**_route_args: Any) -> Response:
                try:
                    return self._open(fn, opening)
                except self.error as err:
                    return self.render_error(err, opening.platform)

            return view

        return decorate

    def _open(self, fn: Callable[[Call], Response], o: Opening) -> Response:
        fault = run_faults(o.platform, self.fault_path(o.platform), self.fault_response(o.platform))
        if fault is not None:
            return fault
        if o.method is not None:
            self.require_method(o.method)
        values = self.read_params() if o.params else {}
        state = get_state()
        with state.lock:
            if o.settle is not None:
                o.settle(state)
            call = Call(state=state, params=values, platform=o.platform)
            if o.auth:
                call.caller, call.token = self.authenticate(state, values, o.platform)
                if o.usable:
                    self.require_usable(call.caller)
                if o.quota is not None and self.take_quota is not None:
                    self.take_quota(state, call.caller, o.quota)
            return fn(call)


@dataclass(frozen=True)
class Opening:
    """The options of one endpoint's opening (see ``Dialect.endpoint``)."""

    platform: str
    method: str | None
    params: bool
    auth: bool
    usable: bool
    quota: str | None
    settle: Callable[[SandboxState], None] | None
