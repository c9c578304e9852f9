"""ns3-gym's spaces and data containers, to and from gymnasium spaces and numpy values.

Space descriptions (Discrete, Box, Tuple, Dict) arrive in SimInitMsg; observations and actions
travel as DataContainer messages whose ``data`` packs the type's own container. The conversions
mirror each other, so a value packed here unpacks to itself (tests check the round trip).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from sim.ns3.build import messages

_DTYPES = {1: np.int32, 2: np.uint32, 3: np.float32, 4: np.float64}
_BOX_FIELDS = {1: "intData", 2: "uintData", 3: "floatData", 4: "doubleData"}


def _dtype_code(dtype: np.dtype) -> int:
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.unsignedinteger):
        return 2
    if np.issubdtype(dtype, np.integer):
        return 1
    return 3 if dtype == np.float32 else 4


def _present(space: spaces.Space | None) -> spaces.Space:
    """An element of a Tuple or Dict space, which cannot be absent."""
    if space is None:
        raise ValueError("a Tuple or Dict space of the simulation has an element without a space")
    return space


def space_from_description(description: Any) -> spaces.Space | None:
    """The gymnasium space a SpaceDescription describes (None for an absent space)."""
    pb = messages()
    if description.type == pb.Discrete:
        discrete = pb.DiscreteSpace()
        description.space.Unpack(discrete)
        return spaces.Discrete(discrete.n)
    if description.type == pb.Box:
        box = pb.BoxSpace()
        description.space.Unpack(box)
        return spaces.Box(low=box.low, high=box.high, shape=tuple(box.shape), dtype=_DTYPES.get(box.dtype, np.float32))
    if description.type in (pb.Tuple, pb.Dict):
        container = pb.TupleSpace() if description.type == pb.Tuple else pb.DictSpace()
        description.space.Unpack(container)
        elements = [(element.name, _present(space_from_description(element))) for element in container.element]
        if description.type == pb.Tuple:
            return spaces.Tuple([space for _, space in elements])
        return spaces.Dict(dict(elements))
    return None


def space_to_description(space: spaces.Space, name: str = "") -> Any:
    """A SpaceDescription for a Discrete, Box, Tuple or Dict space (Box bounds must be scalars)."""
    pb = messages()
    description = pb.SpaceDescription(name=name)
    if isinstance(space, spaces.Discrete):
        description.type = pb.Discrete
        description.space.Pack(pb.DiscreteSpace(n=int(space.n)))
    elif isinstance(space, spaces.Box):
        low, high = np.unique(space.low), np.unique(space.high)
        if low.size != 1 or high.size != 1:
            raise ValueError("ns3-gym Box spaces carry one low and one high bound for every element")
        description.type = pb.Box
        description.space.Pack(
            pb.BoxSpace(low=float(low[0]), high=float(high[0]), dtype=_dtype_code(space.dtype), shape=list(space.shape))
        )
    elif isinstance(space, spaces.Tuple):
        description.type = pb.Tuple
        description.space.Pack(pb.TupleSpace(element=[space_to_description(s) for s in space.spaces]))
    elif isinstance(space, spaces.Dict):
        description.type = pb.Dict
        description.space.Pack(pb.DictSpace(element=[space_to_description(s, key) for key, s in space.spaces.items()]))
    else:
        raise ValueError(f"ns3-gym spaces are Discrete, Box, Tuple and Dict, got {type(space).__name__}")
    return description


def pack(value: Any, space: spaces.Space, name: str = "") -> Any:
    """A DataContainer holding ``value``, a member of ``space``."""
    pb = messages()
    container = pb.DataContainer(name=name)
    if isinstance(space, spaces.Discrete):
        container.type = pb.Discrete
        container.data.Pack(pb.DiscreteDataContainer(data=int(np.asarray(value).reshape(-1)[0])))
    elif isinstance(space, spaces.Box):
        array = np.asarray(value, dtype=space.dtype).reshape(space.shape)
        code = _dtype_code(space.dtype)
        box = pb.BoxDataContainer(dtype=code, shape=list(array.shape))
        getattr(box, _BOX_FIELDS[code]).extend(array.reshape(-1).tolist())
        container.type = pb.Box
        container.data.Pack(box)
    elif isinstance(space, spaces.Tuple):
        container.type = pb.Tuple
        container.data.Pack(
            pb.TupleDataContainer(element=[pack(v, s) for v, s in zip(value, space.spaces, strict=True)])
        )
    elif isinstance(space, spaces.Dict):
        container.type = pb.Dict
        container.data.Pack(pb.DictDataContainer(element=[pack(value[k], s, k) for k, s in space.spaces.items()]))
    else:
        raise ValueError(f"ns3-gym spaces are Discrete, Box, Tuple and Dict, got {type(space).__name__}")
    return container


def unpack(container: Any) -> Any:
    """The value a DataContainer holds: an int, a numpy array, a tuple or a dict (None if empty)."""
    pb = messages()
    if container.type == pb.Discrete:
        discrete = pb.DiscreteDataContainer()
        container.data.Unpack(discrete)
        return int(discrete.data)
    if container.type == pb.Box:
        box = pb.BoxDataContainer()
        container.data.Unpack(box)
        data = getattr(box, _BOX_FIELDS.get(box.dtype, "floatData"))
        return np.array(data, dtype=_DTYPES.get(box.dtype, np.float32)).reshape(tuple(box.shape) or (-1,))
    if container.type in (pb.Tuple, pb.Dict):
        elements = pb.TupleDataContainer() if container.type == pb.Tuple else pb.DictDataContainer()
        container.data.Unpack(elements)
        if container.type == pb.Tuple:
            return tuple(unpack(element) for element in elements.element)
        return {element.name: unpack(element) for element in elements.element}
    return None
