"""Start-up: typer coerces every option's value through a pydantic ``TypeAdapter``, so the first
command line that parses imports pydantic and builds one adapter per option (~0.05–0.1 s CPU), even
when every value already is what the parameter declares (``--format csv`` for a ``str``, a default
``0`` for an ``int``, ``-p A -p B`` for a ``List[str]``).

:func:`install` makes typer's runtime parameter lazy for the plain types lakepkg declares (``str``,
``int``, ``float``, ``bool``, ``List[str]`` with no parser, range, choice, path or file): a value already of
that exact type is passed through unchanged (what the adapter returns for it), and any other value
(a string for an ``int``, bytes, ...) goes to the adapter typer builds, so conversions and error
messages are typer's own. A typer without this layout keeps its own behaviour.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional

_PLAIN = (str, int, float, bool)
_LISTS = (List[str], list[str])


def _plain_check(descriptor: Any) -> Optional[Any]:
    """The test a value passes to need no coercion under ``descriptor``, or None (use typer's)."""
    info = descriptor.parameter_info
    if (getattr(info, "parser", None) is not None or getattr(info, "click_type", None) is not None
            or getattr(info, "min", None) is not None or getattr(info, "max", None) is not None
            or descriptor.file_annotation is not None or descriptor.is_path or descriptor.is_choice):
        return None
    ann = descriptor.annotation
    if ann in _PLAIN:
        return lambda v: type(v) is ann
    if ann in _LISTS:
        return lambda v: isinstance(v, (list, tuple)) and all(type(x) is str for x in v)
    return None


def install() -> None:
    """Patch typer's parameter class once (see the module docstring); a no-op if typer differs."""
    try:
        from typer import _coercion
        from typer.core import _TyperParameter
    except ImportError:  # another typer layout: keep its own coercion
        return
    if getattr(_TyperParameter, "_lakepkg_plain", False) or not hasattr(_TyperParameter, "get_runtime_param"):
        return
    base = getattr(_coercion, "RuntimeParam", None)
    build = getattr(_coercion, "build_runtime_param", None)
    if base is None or build is None:
        return
    original = _TyperParameter.get_runtime_param
    build_full: Callable[[Any], Any] = build

    class _PlainRuntimeParam(base):  # type: ignore[misc, valid-type]
        """Passes a value of the declared type through; builds typer's adapter for any other."""

        _descriptor: Any
        _check: Any
        _full: Any

        def __init__(self, descriptor: Any, check: Any) -> None:
            super().__init__(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation)
            object.__setattr__(self, "_descriptor", descriptor)
            object.__setattr__(self, "_check", check)
            object.__setattr__(self, "_full", None)

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if self._check(value):
                return list(value) if isinstance(value, tuple) else value
            if self._full is None:
                object.__setattr__(self, "_full", build_full(self._descriptor))
            return self._full._coerce_value(value, param=param, ctx=ctx)

    def get_runtime_param(self: Any) -> Any:
        if getattr(self, "_runtime_param", None) is None:
            check = _plain_check(self.type_descriptor)
            if check is None:
                return original(self)
            self._runtime_param = _PlainRuntimeParam(self.type_descriptor, check)
        return self._runtime_param

    _TyperParameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign]
    _TyperParameter._lakepkg_plain = True  # type: ignore[attr-defined]
