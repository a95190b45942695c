"""Typed shadows: ``dev.shadow.model(State)`` with a dataclass (or a pydantic model when pydantic is
installed) gives the reported and desired sections as instances of State, takes instances (or some
of their fields) to report, and gives deltas as a Partial of State: only the fields the delta
carries, each checked against its type. What does not fit raises ModelError (for deltas: given to
the on_error hooks, and the handler is not called)."""

from __future__ import annotations

import collections.abc
import dataclasses
import typing
from typing import Any, Callable, Dict, Generic, Iterator, List, Mapping, Optional, Tuple, TypeVar, Union

from ._errors import InvalidArgument
from ._events import Registration

__all__ = ["ModelError", "Partial", "ModelShadow"]

T = TypeVar("T")
Document = Dict[str, Any]


class ModelError(InvalidArgument):
    """A shadow section or a delta that does not fit the model: ``errors`` lists (path, message)
    pairs, e.g. ``("rate", "expected float, got str 'fast'")``."""

    def __init__(self, what: str, errors: List[Tuple[str, str]]) -> None:
        self.errors = errors
        details = "; ".join(f"{path or '(root)'}: {message}" for path, message in errors)
        super().__init__(f"{what} does not fit the model: {details}", -1)


# -- models: dataclasses and pydantic --------------------------------------------------------


def _is_pydantic(cls: Any) -> bool:
    return isinstance(cls, type) and hasattr(cls, "model_fields") and hasattr(cls, "model_validate")


def _is_model(cls: Any) -> bool:
    return (isinstance(cls, type) and dataclasses.is_dataclass(cls)) or _is_pydantic(cls)


def _fields(cls: Any) -> Dict[str, Any]:
    """Field name -> type annotation."""
    if _is_pydantic(cls):
        return {name: field.annotation for name, field in cls.model_fields.items()}
    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls) if f.init}


def _type_name(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _check(value: Any, hint: Any, path: str, errors: List[Tuple[str, str]]) -> Any:
    """``value`` (from JSON) as ``hint``: converted (int -> float, dict -> nested model) or
    recorded in ``errors``."""
    if hint is Any or hint is object:
        return value
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Union or (origin is not None and getattr(origin, "__name__", "") == "UnionType"):
        for arm in args:
            attempt: List[Tuple[str, str]] = []
            converted = _check(value, arm, path, attempt)
            if not attempt:
                return converted
        errors.append((path, f"expected {_hint_name(hint)}, got {_type_name(value)}"))
        return value
    if origin is typing.Literal:
        if value not in args:
            errors.append((path, f"expected one of {list(args)!r}, got {value!r}"))
        return value
    if hint is type(None):
        if value is not None:
            errors.append((path, f"expected null, got {_type_name(value)}"))
        return value
    if _is_model(hint):
        if not isinstance(value, Mapping):
            errors.append((path, f"expected an object for {hint.__name__}, got {_type_name(value)}"))
            return value
        return _build(hint, value, path, errors)
    if origin in (list, collections.abc.Sequence) or hint in (list, List):
        if not isinstance(value, list):
            errors.append((path, f"expected a list, got {_type_name(value)}"))
            return value
        item = args[0] if args else Any
        return [_check(v, item, f"{path}[{i}]", errors) for i, v in enumerate(value)]
    if origin in (dict, collections.abc.Mapping) or hint in (dict, Dict):
        if not isinstance(value, Mapping):
            errors.append((path, f"expected an object, got {_type_name(value)}"))
            return value
        item = args[1] if len(args) == 2 else Any
        return {k: _check(v, item, f"{path}/{k}", errors) for k, v in value.items()}
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append((path, f"expected float, got {_type_name(value)}"))
            return value
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append((path, f"expected int, got {_type_name(value)}"))
        return value
    if isinstance(hint, type):
        if not isinstance(value, hint):
            errors.append((path, f"expected {hint.__name__}, got {_type_name(value)}"))
        return value
    return value  # a typing construct this checker does not know: accepted as it is


def _hint_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _pydantic_errors(error: Any, prefix: str) -> List[Tuple[str, str]]:
    out = []
    for e in error.errors():
        location = "/".join(str(part) for part in e.get("loc", ()))
        out.append((f"{prefix}/{location}".strip("/") if prefix else location, e.get("msg", "invalid")))
    return out


def _build(cls: Any, data: Mapping[str, Any], path: str, errors: List[Tuple[str, str]]) -> Any:
    """A whole instance of ``cls`` from ``data`` (missing fields take their defaults)."""
    if _is_pydantic(cls):
        try:
            return cls.model_validate(dict(data))
        except Exception as error:
            if hasattr(error, "errors"):
                errors.extend(_pydantic_errors(error, path))
                return None
            raise
    fields = _fields(cls)
    values = {}
    for name, value in data.items():
        where = f"{path}/{name}" if path else name
        if name not in fields:
            errors.append((where, f"not a field of {cls.__name__}"))
            continue
        values[name] = _check(value, fields[name], where, errors)
    if errors:
        return None
    try:
        return cls(**values)
    except TypeError as error:  # a required field is missing
        errors.append((path, str(error)))
        return None


def _partial(cls: Any, data: Mapping[str, Any], path: str, errors: List[Tuple[str, str]]) -> "Partial[Any]":
    """The fields of ``cls`` that ``data`` has, each checked; nested models are partial too."""
    fields = _fields(cls)
    values: Dict[str, Any] = {}
    for name, value in data.items():
        where = f"{path}/{name}" if path else name
        if name not in fields:
            errors.append((where, f"not a field of {cls.__name__}"))
            continue
        hint = fields[name]
        if _is_model(hint) and isinstance(value, Mapping):
            values[name] = _partial(hint, value, where, errors)
        elif value is None:
            values[name] = None  # a key deleted from desired
        elif _is_pydantic(cls):
            values[name] = _pydantic_field(cls, name, value, where, errors)
        else:
            values[name] = _check(value, hint, where, errors)
    return Partial(cls, values)


def _pydantic_field(cls: Any, name: str, value: Any, where: str, errors: List[Tuple[str, str]]) -> Any:
    import pydantic  # present: cls is a pydantic model

    try:
        return pydantic.TypeAdapter(cls.model_fields[name].annotation).validate_python(value)
    except pydantic.ValidationError as error:
        errors.extend(_pydantic_errors(error, where))
        return value


def _dump(value: Any) -> Any:
    """A model instance, Partial or plain value as JSON-ready data."""
    if isinstance(value, Partial):
        return {name: _dump(v) for name, v in value.items()}
    if _is_pydantic(type(value)):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {k: _dump(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_dump(v) for v in value]
    return value


class Partial(Generic[T]):
    """Some fields of model ``T`` (those a delta carries), checked against their types. Read them
    as attributes (``delta.led``; a field the delta does not carry raises AttributeError) or as a
    mapping (``"led" in delta``, ``delta.items()``); ``apply(state)`` gives ``state`` with them."""

    def __init__(self, model: Any, values: Dict[str, Any]) -> None:
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_values", values)

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        raise AttributeError(f"this {self._model.__name__} delta has no {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Partial is read-only")

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def items(self) -> Any:
        return self._values.items()

    def as_dict(self) -> Dict[str, Any]:
        """The fields as JSON-ready data (what a report of them sends)."""
        return _dump(self)  # type: ignore[no-any-return]

    def apply(self, state: T) -> T:
        """``state`` (an instance of the model) with these fields replaced; nested partials are
        applied to the nested instances."""
        updates = {}
        for name, value in self._values.items():
            if isinstance(value, Partial):
                value = value.apply(getattr(state, name))
            updates[name] = value
        if _is_pydantic(type(state)):
            return state.model_copy(update=updates)  # type: ignore[attr-defined,no-any-return]
        return dataclasses.replace(state, **updates)  # type: ignore[type-var]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Partial):
            return self._model is other._model and self._values == other._values
        if isinstance(other, Mapping):
            return self.as_dict() == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"Partial[{self._model.__name__}]({fields})"


# -- the typed view of a shadow --------------------------------------------------------------


class ModelShadow(Generic[T]):
    """A shadow seen through model ``T`` (``shadow.model(T)``); the untyped shadow is ``.shadow``.

    ``reported`` and ``desired`` are instances of T (missing keys take the field defaults),
    ``delta`` a Partial of T. report()/desire() take an instance (all its fields are sent), a
    Partial, or a dict of some fields (checked first), and return the accepted update as the
    untyped shadow does. on_delta() handlers get ``(Partial[T], version)``; a delta that does
    not fit raises ModelError into the device's on_error hooks (kind "shadow delta") and the
    handler is not called."""

    def __init__(self, shadow: Any, model: Any) -> None:
        if not _is_model(model):
            raise TypeError(f"model must be a dataclass or a pydantic model class, not {model!r}")
        self.shadow = shadow
        self.model = model

    def _section(self, name: str) -> T:
        errors: List[Tuple[str, str]] = []
        data = getattr(self.shadow, name)
        value = _build(self.model, data, "", errors)
        if errors:
            raise ModelError(f"the {name} section", errors)
        return value  # type: ignore[no-any-return]

    @property
    def reported(self) -> T:
        return self._section("reported")

    @property
    def desired(self) -> T:
        return self._section("desired")

    @property
    def delta(self) -> "Partial[T]":
        return self._parse(self.shadow.delta, "the delta")

    def _parse(self, data: Any, what: str) -> "Partial[T]":
        errors: List[Tuple[str, str]] = []
        if not isinstance(data, Mapping):
            raise ModelError(what, [("", f"expected an object, got {_type_name(data)}")])
        partial = _partial(self.model, data, "", errors)
        if errors:
            raise ModelError(what, errors)
        return partial

    def _state(self, state: Any) -> Document:
        if isinstance(state, self.model) or isinstance(state, Partial):
            return _dump(state)  # type: ignore[no-any-return]
        if isinstance(state, Mapping):
            return self._parse(state, "the state").as_dict()
        raise TypeError(f"state must be a {self.model.__name__}, a Partial or a dict, not {type(state).__name__}")

    def report(self, state: Any, *, timeout: float = 10.0) -> Document:
        return self.shadow.report(self._state(state), timeout=timeout)  # type: ignore[no-any-return]

    def report_nowait(self, state: Any) -> None:
        self.shadow.report_nowait(self._state(state))

    def desire(self, state: Any, *, timeout: float = 10.0) -> Document:
        return self.shadow.desire(self._state(state), timeout=timeout)  # type: ignore[no-any-return]

    def desire_nowait(self, state: Any) -> None:
        self.shadow.desire_nowait(self._state(state))

    def on_delta(
        self, callback: Callable[["Partial[T]", int], Any], *, initial: bool = True
    ) -> Registration:
        if not callable(callback):
            raise TypeError("callback must be callable")

        def typed(delta: Any, version: int) -> Any:
            return callback(self._parse(delta, f"the delta of version {version}"), version)

        return self.shadow.on_delta(typed, initial=initial)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<twinlink.ModelShadow[{self.model.__name__}] of {self.shadow.device_id!r}>"


class AsyncModelShadow(ModelShadow[T]):
    """ModelShadow over a twinlink.aio Shadow: report() and desire() are awaited; handlers run on
    the loop (plain or ``async def``)."""

    async def report(self, state: Any, *, timeout: float = 10.0) -> Document:  # type: ignore[override]
        return await self.shadow.report(self._state(state), timeout=timeout)  # type: ignore[no-any-return]

    async def desire(self, state: Any, *, timeout: float = 10.0) -> Document:  # type: ignore[override]
        return await self.shadow.desire(self._state(state), timeout=timeout)  # type: ignore[no-any-return]

    def on_delta(
        self, callback: Callable[["Partial[T]", int], Any], *, initial: bool = True
    ) -> Registration:
        if not callable(callback):
            raise TypeError("callback must be callable")

        def typed(delta: Any, version: int) -> Any:
            # On the loop: a ModelError raised here reaches the on_error hooks like any callback's.
            return callback(self._parse(delta, f"the delta of version {version}"), version)

        return self.shadow.on_delta(typed, initial=initial)  # type: ignore[no-any-return]
