"""`mockserver.running()`: a workspace of an in-process pacspace-mock for code without pytest
(unittest, scripts, other runners), as a context manager or a decorator. No pytest imports.

The embedded server starts on first use, once per process, with the pytest plugin's defaults (no
lifecycle delays, manual webhook delivery), and stops when the process exits. Each entry gets a
clean workspace: a key derived from the decorated function's name (or a fixed one for `with`
blocks, numbered while another entry holds it), reset, then set up like the plugin's marker.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import threading
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from .testkit import PLUGIN_DEFAULTS, LoopbackClient, VirtualWaits, Workspace, key_for, virtual_waits

if TYPE_CHECKING:
    from pacspace_sdk import PacSpace

    from .embedded import EmbeddedServer

F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_server: EmbeddedServer | None = None
_loopbacks: dict[str, LoopbackClient] = {}
_keys_in_use: set[str] = set()


def embedded_server() -> EmbeddedServer:
    """The process's embedded server, started on first use and stopped at exit."""
    global _server
    with _lock:
        if _server is None:
            from .embedded import EmbeddedServer
            from .runtime import Runtime, ServerConfig

            config = ServerConfig(processing_delay=0, verify_delay=0, webhook_delivery="manual")
            _server = EmbeddedServer(Runtime(config)).start()
            atexit.register(_server.stop)
        return _server


def _loopback(url: str) -> LoopbackClient:
    with _lock:
        client = _loopbacks.get(url)
        if client is None:
            client = _loopbacks[url] = LoopbackClient(url)
        return client


class MockWorkspace(Workspace):
    """A workspace of a running pacspace-mock, with everything of the pytest plugin's `pacspace`
    (`.clock`, `.faults`, `.webhooks`, `.journal`, `.settings()`, `.call()`, the assertions) plus
    `.url` and `.sdk`, the official client on this workspace whose waits are virtual."""

    def __init__(self, base_url: str, key: str, http: Any = None, *, sdk_options: dict[str, Any] | None = None,
                 real_sleep: bool = False):
        super().__init__(base_url, key, http)
        self._sdk_options = dict(sdk_options or {})
        self._real_sleep = real_sleep
        self._sdk: PacSpace | None = None

    @property
    def url(self) -> str:
        """The server's base URL (the same as `base_url`)."""
        return self.base_url

    @property
    def sdk(self) -> PacSpace:
        """`pacspace_sdk.PacSpace` with this workspace's key, made on first use; its retry and poll
        waits advance the virtual clock (unless `real_sleep=True`)."""
        if self._sdk is None:
            try:
                from pacspace_sdk import PacSpace
            except ImportError as exc:
                raise ImportError("mock.sdk needs the official SDK: pip install pacspace-sdk") from exc
            # the summary coordinator paces requests for the real service (10/min); a mock needs none
            options = {"submission": {"maxRequestsPerMinute": 600000}, **self._sdk_options}
            client = PacSpace.init(self.key, base_url=self.base_url, **options)
            if not self._real_sleep:
                virtual_waits(self, client)
            self._sdk = client
        return self._sdk

    @property
    def waits(self) -> VirtualWaits | None:
        """The virtual waits of `.sdk` (iterable; `.total` seconds); None with `real_sleep=True`."""
        return VirtualWaits.of(self.sdk)

    def close(self) -> None:
        if self._sdk is not None:
            self._sdk.close()
            self._sdk = None


class Running:
    """What `mockserver.running(...)` returns: a context manager giving a `MockWorkspace`, and a
    decorator that passes one to the function as its last positional argument (like
    `unittest.mock.patch`), on functions, coroutine functions and TestCase methods."""

    def __init__(self, seed: int | None = None, *, start: str | None = None,
                 settings: dict[str, Any] | None = None, environment: str = "test", key: str | None = None,
                 sdk: dict[str, Any] | None = None, real_sleep: bool = False, url: str | None = None,
                 name: str = "mockserver.running"):
        if environment not in ("test", "live"):
            raise ValueError(f"environment must be 'test' or 'live', not {environment!r}")
        self.seed, self.start, self.settings = seed, start, dict(settings or {})
        self.environment, self.key, self.sdk_options, self.real_sleep = environment, key, sdk, real_sleep
        self.url, self.name = url, name
        self._local = threading.local()

    def _copy(self, name: str) -> Running:
        return Running(self.seed, start=self.start, settings=self.settings, environment=self.environment,
                       key=self.key, sdk=self.sdk_options, real_sleep=self.real_sleep, url=self.url, name=name)

    def _claim_key(self) -> str:
        if self.key is not None:
            return self.key
        with _lock:
            n, key = 1, key_for(self.name, self.environment)
            while key in _keys_in_use:  # another entry (a thread, a nested block) holds it
                n += 1
                key = key_for(f"{self.name}#{n}", self.environment)
            _keys_in_use.add(key)
            return key

    def __enter__(self) -> MockWorkspace:
        url = self.url.rstrip("/") if self.url else embedded_server().url
        key = self._claim_key()
        try:
            mock = MockWorkspace(url, key, _loopback(url), sdk_options=self.sdk_options, real_sleep=self.real_sleep)
            mock.reset()
            changes = {**(PLUGIN_DEFAULTS if self.url else {}), **self.settings}
            if self.seed is not None:
                changes["seed"] = self.seed
            if changes:
                mock.settings(**changes)
            if self.start:
                mock.clock.freeze(self.start)
        except BaseException:
            self._release(key)
            raise
        self._local.__dict__.setdefault("stack", []).append(mock)
        return mock

    def __exit__(self, *exc: Any) -> None:
        mock = self._local.stack.pop()
        mock.close()
        self._release(mock.key)

    def _release(self, key: str) -> None:
        if self.key is None:
            with _lock:
                _keys_in_use.discard(key)

    def __call__(self, func: F) -> F:
        if inspect.isclass(func):
            raise TypeError("mockserver.running() decorates a function or a test method, not a class")
        name = f"{func.__module__}.{func.__qualname__}"
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self._copy(name) as mock:
                    return await func(*args, mock, **kwargs)

            wrapper: Callable[..., Any] = run_async
        else:
            @functools.wraps(func)
            def run(*args: Any, **kwargs: Any) -> Any:
                with self._copy(name) as mock:
                    return func(*args, mock, **kwargs)

            wrapper = run
        # the mock is supplied here: runners that read the signature (pytest) must not ask for it
        signature = inspect.signature(func)
        params = list(signature.parameters.values())
        positional = [i for i, p in enumerate(params) if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if positional:
            del params[positional[-1]]
        wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]
