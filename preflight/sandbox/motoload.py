"""moto's service models and EC2 data loaded as the process needs them, not all at import.

moto has no documented setting for any of this (upstream loads every region's data when its EC2
backend is imported), so each part reaches into its internals (named in
tests/sandbox/test_moto_surface.py's REMAINING) and each is guarded: where moto is not shaped as
expected (a module moved, a name gone or not callable, a table not holding what was handed to it),
it is left as it is (more memory, the same answers). `TAP_SANDBOX_MOTO_DOCUMENTED_ONLY=1` switches
all of it off (accelerators.py).

- moto reads botocore's models through a loader of its own (a second copy of each model it serves):
  that loader reads them as the gate's clients do (`preflight.account.aws.model_file_loader`: the model
  cache, no documentation, shapes decoded on use).
- moto's EC2 backend decodes every region's instance-type offerings when it is imported (tens of
  MiB of dicts for ~35 regions and three location types, of which a run asks one or two regions):
  each region's table is read from moto's own data file the first time that region is asked.
- It also keeps every instance type's description (~9 MiB, twice referenced), which only
  DescribeInstanceTypes reads: dropped after the import, read again from moto's file on first use.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from preflight.account.aws import model_file_loader
from preflight.sandbox import accelerators

_INSTANCE_TYPES_MODULE = "moto.ec2.models.instance_types"
_OFFERINGS_DIRECTORY = "instance_type_offerings"
_INSTANCE_TYPES_FILE = "instance_types.json"

Reader = Callable[[], Any]


LAZY_LOADING = "moto's models and EC2 data loaded on first use"  # the accelerator (accelerators.py)


def load_moto_lazily() -> None:
    """All three, before moto's EC2 backend is imported (idempotent). Switched off with the rest of the
    accelerators (accelerators.DOCUMENTED_ONLY): moto then loads everything as it always does."""
    if not accelerators.usable(LAZY_LOADING, lambda: True):  # each part probes moto's shape itself
        return
    _moto_models_through_the_model_cache()
    _instance_type_data_on_first_use()


def _moto_models_through_the_model_cache() -> None:
    try:
        import moto.core.utils as moto_utils
    except ImportError:  # moved: moto reads its models its own way (more memory)
        return
    original = getattr(moto_utils, "create_loader", None)
    if not callable(original) or getattr(original, "_sandbox", False):
        return

    def create_loader() -> Any:
        loader = original()
        if hasattr(loader, "file_loader"):
            loader.file_loader = model_file_loader()
        return loader

    create_loader._sandbox = True  # type: ignore[attr-defined]
    moto_utils.create_loader = create_loader


class DictOnFirstUse(dict[str, Any]):
    """A dict filled by `reader` the first time anything of it is asked (moto reads these tables by
    key, membership, iteration and `get`; it never writes them)."""

    def __init__(self, reader: Reader) -> None:
        super().__init__()
        self._reader: Reader | None = reader
        self._lock = threading.Lock()

    def _load(self) -> None:
        if self._reader is not None:
            with self._lock:
                if self._reader is not None:
                    dict.update(self, self._reader())
                    self._reader = None

    def __getitem__(self, key: str) -> Any:
        self._load()
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self._load()
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        self._load()
        return dict.__contains__(self, key)

    def __iter__(self) -> Iterator[str]:
        self._load()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._load()
        return dict.__len__(self)

    def keys(self) -> Any:  # type: ignore[override]
        self._load()
        return dict.keys(self)

    def values(self) -> Any:  # type: ignore[override]
        self._load()
        return dict.values(self)

    def items(self) -> Any:  # type: ignore[override]
        self._load()
        return dict.items(self)

    def __eq__(self, other: object) -> bool:
        self._load()
        return dict.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]


class OfferingsByRegion(dict[str, Any]):
    """One location type's offerings by region, each region read from moto's file on first use.

    Every region is known from the start (membership, keys); a region's list is what moto's own
    import would have built: its data file's entries, each marked with the location type.
    """

    def __init__(self, location_type: str, readers: dict[str, Reader]) -> None:
        super().__init__()
        self._location_type = location_type
        self._readers = dict(readers)
        self._lock = threading.Lock()

    def _load(self, region: str) -> None:
        if dict.__contains__(self, region) or region not in self._readers:
            return
        with self._lock:
            if not dict.__contains__(self, region):
                offerings = self._readers[region]()
                for offering in offerings:
                    offering["LocationType"] = self._location_type
                dict.__setitem__(self, region, offerings)

    def __getitem__(self, region: str) -> Any:
        self._load(region)
        return dict.__getitem__(self, region)

    def get(self, region: str, default: Any = None) -> Any:  # type: ignore[override]
        self._load(region)
        return dict.get(self, region, default)

    def __contains__(self, region: object) -> bool:
        return region in self._readers

    def __iter__(self) -> Iterator[str]:
        return iter(self._readers)

    def __len__(self) -> int:
        return len(self._readers)

    def keys(self) -> Any:  # type: ignore[override]
        return self._readers.keys()

    def values(self) -> Any:  # type: ignore[override]
        return [self[region] for region in self._readers]

    def items(self) -> Any:  # type: ignore[override]
        return [(region, self[region]) for region in self._readers]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]


def _resource_path(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    """The path of a `load_resource` call split in parts (moto 5.1 passes a package first)."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, str) and (_OFFERINGS_DIRECTORY in value or _INSTANCE_TYPES_FILE in value):
            return value.replace("\\", "/").split("/")
    return []


class _Recorder:
    """moto's `load_resource` during the import of its instance-type module: every offerings file
    answered with an empty list (a stub, read later), the instance types' file read as always and
    its reading remembered."""

    def __init__(self, original: Callable[..., Any]) -> None:
        self.original = original
        self.offerings: dict[tuple[str, str], tuple[list[Any], Reader]] = {}
        self.instance_types: Reader | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        parts = _resource_path(args, kwargs)
        reader: Reader = lambda: self.original(*args, **kwargs)  # noqa: E731
        if parts[-3:-2] == [_OFFERINGS_DIRECTORY]:
            stub: list[Any] = []
            self.offerings[(parts[-2], parts[-1].split(".")[0])] = (stub, reader)
            return stub
        if parts and parts[-1].startswith(_INSTANCE_TYPES_FILE):
            self.instance_types = reader
        return reader()


def _instance_type_data_on_first_use() -> None:
    if _INSTANCE_TYPES_MODULE in sys.modules:
        return  # already imported (and loaded): nothing left to save
    try:
        import moto.utilities.utils as moto_utilities
    except ImportError:  # moved: moto reads its data at import, as upstream does (more memory)
        return
    original = getattr(moto_utilities, "load_resource", None)
    if not callable(original):
        return
    recorder = _Recorder(original)
    moto_utilities.load_resource = recorder
    try:
        module = __import__(_INSTANCE_TYPES_MODULE, fromlist=["INSTANCE_TYPE_OFFERINGS"])
    except ImportError:  # moved: nothing was stubbed where moto's EC2 backend will look
        return
    finally:
        moto_utilities.load_resource = original
    _install_offerings(getattr(module, "INSTANCE_TYPE_OFFERINGS", None), recorder.offerings)
    if recorder.instance_types is not None:
        _install_instance_types(module, recorder.instance_types)


def _install_offerings(table: Any, stubs: dict[tuple[str, str], tuple[list[Any], Reader]]) -> None:
    """Each location type's regions made lazy, where moto's table holds exactly the stubs it was
    handed; otherwise every stub filled now, as moto's import would have filled it."""
    by_location: dict[str, dict[str, Reader]] = {}
    for (location, region), (_, reader) in stubs.items():
        by_location.setdefault(location, {})[region] = reader
    expected = isinstance(table, dict) and all(
        type(table.get(location)) is dict
        and set(table[location]) == set(regions)
        and all(table[location][region] is stubs[(location, region)][0] for region in regions)
        for location, regions in by_location.items()
    )
    if expected:
        for location, readers in by_location.items():
            table[location] = OfferingsByRegion(location, readers)
        return
    for (location, _), (stub, reader) in stubs.items():
        stub.extend(reader())
        for offering in stub:
            offering["LocationType"] = location


class InstanceTypesOnFirstUse:
    """`InstanceTypeBackend.instance_types` built on first use, as moto's class body builds it (an
    `InstanceType` per name of the instance types' table, in its order)."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self._built: list[Any] | None = None
        self._lock = threading.Lock()

    def __get__(self, instance: Any, owner: type | None = None) -> list[Any]:
        with self._lock:
            if self._built is None:
                self._built = [self._module.InstanceType(name) for name in self._module.INSTANCE_TYPES]
            return self._built


def _install_instance_types(module: Any, reader: Reader) -> None:
    """Both references to the instance types' descriptions dropped, where moto holds them as
    expected (its table, and its backend's list built from it); read again on first use."""
    table = getattr(module, "INSTANCE_TYPES", None)
    kind = getattr(module, "InstanceType", None)
    backend = getattr(module, "InstanceTypeBackend", None)
    built = backend.__dict__.get("instance_types") if isinstance(backend, type) else None
    if not (type(table) is dict and isinstance(kind, type) and type(built) is list):
        return
    if any(type(item) is not kind for item in built) or [item.name for item in built] != list(table):
        return
    module.INSTANCE_TYPES = DictOnFirstUse(reader)
    setattr(backend, "instance_types", InstanceTypesOnFirstUse(module))  # noqa: B010
