"""How :mod:`izzyviz.capturing` listens to one model, and only to it, while a capture is open.

Nothing process-wide is patched: every change is made on the captured model's own modules, is
shared (reference-counted) by the captures that need it, and is undone when the last of them
closes. Four kinds, each installed by a function of this module:

* ``"interface"`` (:func:`install_interface`): the attention module gets its own copy of its
  ``forward`` (decorators and all) in which the name ``ALL_ATTENTION_FUNCTIONS`` means an
  :class:`_Interface` that hands out the real attention function wrapped: the function runs
  unchanged, then the captures listening are told of the call.
* ``"output"`` (:func:`install_output`): a forward hook on a module off the interface takes its
  own weights out of its output (asking for them first if it only returns them on request, and
  then handing the caller the output it asked for).
* ``"pass"`` (:func:`install_pass`): a sub-model's forward, wrapped on the instance, tells the
  captures when one of its passes starts and when it finishes.
* ``"generate"`` (:func:`install_generate`): ``generate()`` refuses decoding modes whose batch
  rows do not stay with their sequences (beam search, assisted and prompt-lookup decoding).

Which captures hear a call is decided by :func:`listening`: those opened in the current thread
(or asyncio task) and not closed since, that listen to that object. A capture closed from another
thread stops hearing at once. Under ``torch.compile`` nothing is heard.
"""

from __future__ import annotations

import contextvars
import inspect
import threading
import types
from collections.abc import Callable
from typing import Any, Protocol

from izzyviz._capture_model import OWN_WEIGHTS, Stack
from izzyviz._capture_weights import Call, Given, interface_call


class Listener(Protocol):
    """What a capture offers the hooks."""

    open: bool
    objects: set[int]

    def on_call(self, module: Any, call: Call) -> None: ...

    def on_pass(self, owner: Any, done: bool) -> None: ...


_ACTIVE: contextvars.ContextVar[tuple[Listener, ...]] = contextvars.ContextVar(
    "izzyviz_captures", default=()
)
_LOCK = threading.Lock()
_INSTALLED: dict[tuple[int, str], list[Any]] = {}  # (id, kind) -> [users, undo, object]
_FORCED: dict[tuple[int, int], bool] = {}  # (thread, module) -> weights asked for by us
_MODES = ("greedy_search", "sample")


def activate(capture: Listener) -> None:
    """Let ``capture`` hear calls made in the current thread or task."""
    _ACTIVE.set((*(c for c in _ACTIVE.get() if c.open), capture))


def deactivate(capture: Listener) -> None:
    """Forget ``capture`` here (elsewhere it stops hearing once it is no longer open)."""
    _ACTIVE.set(tuple(c for c in _ACTIVE.get() if c is not capture and c.open))


def listening(obj: Any) -> list[Listener]:
    """The open captures of the current thread or task that listen to ``obj``."""
    import torch

    if torch.compiler.is_compiling():
        return []
    key = id(obj)
    return [c for c in _ACTIVE.get() if c.open and key in c.objects]


def acquire(obj: Any, kind: str) -> None:
    """Install the ``kind`` change on ``obj``, or count one more user of it."""
    with _LOCK:
        entry = _INSTALLED.get((id(obj), kind))
        if entry is not None:
            entry[0] += 1
            return
        _INSTALLED[(id(obj), kind)] = [1, _INSTALLERS[kind](obj), obj]


def release(obj: Any, kind: str) -> None:
    """Count one user less of the ``kind`` change on ``obj``; undo it after the last."""
    with _LOCK:
        entry = _INSTALLED[(id(obj), kind)]
        entry[0] -= 1
        if entry[0] == 0:
            del _INSTALLED[(id(obj), kind)]
            entry[1]()


def changes(stacks: list[Stack], model: Any) -> list[tuple[Any, str]]:
    """Every ``(object, kind)`` a capture of ``stacks`` needs on ``model``."""
    result: list[tuple[Any, str]] = []
    for stack in stacks:
        if stack.refusal is None:
            result += [(m, stack.route) for m in dict.fromkeys(stack.modules)]
            result.append((stack.owner, "pass"))
    generating = [m for m in model.modules() if callable(getattr(m, "generate", None))]
    result += [(m, "generate") for m in generating]
    return list(dict.fromkeys(result, None))


# -- the interface route ---------------------------------------------------------------------


class _Interface:
    """Stands for ``ALL_ATTENTION_FUNCTIONS`` in one module's forward."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def get_interface(self, implementation: str, default: Callable[..., Any]) -> Any:
        return _reporting(self._real.get_interface(implementation, default), implementation)

    def __getitem__(self, implementation: str) -> Any:
        return _reporting(self._real[implementation], implementation)

    def __contains__(self, implementation: object) -> bool:
        return implementation in self._real

    def __iter__(self) -> Any:
        return iter(self._real)

    def __len__(self) -> int:
        return len(self._real)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _reporting(function: Callable[..., Any], implementation: str) -> Callable[..., Any]:
    """``function``, also telling the listening captures of each call."""

    def attention(module: Any, *args: Any, **kwargs: Any) -> Any:
        output = function(module, *args, **kwargs)
        captures = listening(module)
        if captures:
            call = interface_call(function, implementation, module, args, kwargs, output)
            for capture in captures:
                capture.on_call(module, call)
        return output

    return attention


class _Globals(dict[str, Any]):
    """A function's globals with some names replaced; every other name is looked up live."""

    def __init__(self, base: dict[str, Any], **names: Any) -> None:
        super().__init__(names, __builtins__=base.get("__builtins__", __builtins__))
        self._base = base

    def __missing__(self, name: str) -> Any:
        return self._base[name]


def _holds(cell: Any, value: Any) -> bool:
    try:
        return cell.cell_contents is value
    except ValueError:  # an empty cell
        return False


def _listening_copy(function: Any, module: Any) -> Any:
    """A copy of ``function`` (maybe decorated) whose code that names
    ``ALL_ATTENTION_FUNCTIONS`` sees an :class:`_Interface` instead."""
    code = function.__code__
    if "ALL_ATTENTION_FUNCTIONS" in code.co_names:
        real = function.__globals__["ALL_ATTENTION_FUNCTIONS"]
        names = _Globals(function.__globals__, ALL_ATTENTION_FUNCTIONS=_Interface(real))
        return _function(function, names, function.__closure__, None)
    inner = getattr(function, "__wrapped__", None)
    cells = function.__closure__ or ()
    if inner is None or not any(_holds(cell, inner) for cell in cells):
        raise TypeError(
            f"model: cannot listen to {type(module).__name__}: a decorator of its forward "
            f"({function.__qualname__}) hides the function that calls the attention; load the "
            "model with attn_implementation='eager' and call it with output_attentions=True"
        )
    copied = _listening_copy(inner, module)
    closure = tuple(types.CellType(copied) if _holds(c, inner) else c for c in cells)
    return _function(function, function.__globals__, closure, copied)


def _function(original: Any, names: dict[str, Any], closure: Any, wrapped: Any) -> Any:
    copy = types.FunctionType(
        original.__code__, names, original.__name__, original.__defaults__, closure
    )
    copy.__kwdefaults__ = original.__kwdefaults__
    copy.__qualname__, copy.__module__ = original.__qualname__, original.__module__
    copy.__dict__.update(original.__dict__)
    if wrapped is not None:
        copy.__dict__["__wrapped__"] = wrapped
    return copy


def install_interface(module: Any) -> Callable[[], None]:
    """Give ``module`` a listening forward; return what undoes it. Where accelerate's hooks
    already gave the instance a forward, the class forward they call (``_old_forward``) is the
    one replaced."""
    own = vars(module)
    attribute = "_old_forward" if "forward" in own and "_old_forward" in own else "forward"
    if attribute == "forward" and "forward" in own:
        raise TypeError(
            f"model: {type(module).__name__} already has a forward of its own (another "
            "library's hook?); capture the model without it, or load it with "
            "attn_implementation='eager' and call it with output_attentions=True"
        )
    function = _listening_copy(type(module).forward, module)
    return _replace(module, attribute, types.MethodType(function, module))


def _replace(module: Any, attribute: str, value: Any) -> Callable[[], None]:
    """Set ``module.<attribute>`` on the instance; return what restores it."""
    saved = vars(module).get(attribute)
    setattr(module, attribute, value)

    def undo() -> None:
        if saved is None:
            delattr(module, attribute)
        else:
            setattr(module, attribute, saved)

    return undo


# -- the output route -------------------------------------------------------------------------


def install_output(module: Any) -> Callable[[], None]:
    """Hooks that take ``module``'s own weights (second in its output) to the captures."""
    flag = OWN_WEIGHTS[type(module).__name__]
    signature = inspect.signature(module.forward)
    key = id(module)

    def before(module: Any, args: Any, kwargs: Any) -> Any:
        if flag is None or not listening(module):
            return None
        bound = signature.bind(*args, **kwargs)
        forced = not bound.arguments.get(flag)
        _FORCED[(threading.get_ident(), key)] = forced
        bound.arguments[flag] = True
        return bound.args, bound.kwargs

    def after(module: Any, args: Any, output: Any) -> Any:
        captures = listening(module)
        if not captures:
            return None
        weights = output[1]
        call = Given(weights, int(weights.shape[-1]))
        for capture in captures:
            capture.on_call(module, call)
        if _FORCED.pop((threading.get_ident(), key), False):
            return (output[0], None, *output[2:])
        return None

    handles = [module.register_forward_hook(after)]
    if flag is not None:
        handles.append(module.register_forward_pre_hook(before, with_kwargs=True))

    def remove() -> None:
        for handle in handles:
            handle.remove()

    return remove


# -- passes and generate() --------------------------------------------------------------------


def install_pass(owner: Any) -> Callable[[], None]:
    """Tell the captures when a forward pass of ``owner`` starts and when it finishes (also
    when a library calls ``owner.forward`` directly, as sentence-transformers does)."""
    original = owner.forward  # the class's, or one another library set on the instance

    def forward(*args: Any, **kwargs: Any) -> Any:
        for capture in listening(owner):
            capture.on_pass(owner, done=False)
        output = original(*args, **kwargs)
        for capture in listening(owner):
            capture.on_pass(owner, done=True)
        return output

    return _replace(owner, "forward", forward)


def install_generate(model: Any) -> Callable[[], None]:
    """Make ``model.generate`` refuse, while it is captured, decoding whose rows move."""
    original = getattr(model, "_validate_generation_mode", None)
    if original is None:  # another transformers: nothing to hook
        return lambda: None

    def validate(mode: Any, *args: Any, **kwargs: Any) -> Any:
        name = str(getattr(mode, "value", mode))
        if name not in _MODES and listening(model):
            raise ValueError(
                f"izzyviz.capture: {name.replace('_', ' ')} decoding reorders or rewinds the "
                "rows of the batch, so captured rows would not belong to the sequences returned; "
                "capture greedy or sampling generate() (num_beams=1, no assistant_model or "
                "prompt_lookup_num_tokens), or run the model on each returned sequence"
            )
        return original(mode, *args, **kwargs)

    return _replace(model, "_validate_generation_mode", validate)


_INSTALLERS: dict[str, Callable[[Any], Callable[[], None]]] = {
    "interface": install_interface,
    "output": install_output,
    "pass": install_pass,
    "generate": install_generate,
}
