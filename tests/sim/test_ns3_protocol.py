"""Our ns3-gym protocol: the wire layout upstream ns3-gym uses, and lossless space/data conversion.

Needs only protoc (no ns-3), so it runs wherever the bridge's Python side does.
"""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from sim.ns3.build import messages
from sim.ns3.protocol import pack, space_from_description, space_to_description, unpack

# ns3-gym's messages.proto (package ns3opengym), as the protocol describes it: message -> fields
# (name, number). Wire compatibility rests on these numbers and on the enum values below.
LAYOUT = {
    "SpaceDescription": {"type": 1, "space": 2, "name": 3},
    "DiscreteSpace": {"n": 1},
    "BoxSpace": {"low": 1, "high": 2, "dtype": 3, "shape": 4},
    "TupleSpace": {"element": 1},
    "DictSpace": {"element": 1},
    "DataContainer": {"type": 1, "data": 2, "name": 3},
    "DiscreteDataContainer": {"data": 1},
    "BoxDataContainer": {"dtype": 1, "shape": 2, "intData": 3, "uintData": 4, "floatData": 5, "doubleData": 6},
    "TupleDataContainer": {"element": 1},
    "DictDataContainer": {"element": 1},
    "SimInitMsg": {"simProcessId": 1, "wafShellProcessId": 2, "obsSpace": 3, "actSpace": 4},
    "SimInitAck": {"done": 1, "stopSimReq": 2},
    "EnvStateMsg": {"obsData": 1, "reward": 2, "isGameOver": 3, "reason": 4, "info": 5},
    "EnvActMsg": {"actData": 1, "stopSimReq": 2},
}
ENUMS = {
    "MsgType": [
        "Unknown",
        "Init",
        "ActionSpace",
        "ObservationSpace",
        "IsGameOver",
        "Observation",
        "Reward",
        "ExtraInfo",
        "Action",
        "StopEnv",
    ],
    "SpaceType": ["NoSpaceType", "Discrete", "Box", "Tuple", "Dict"],
    "Dtype": ["NoDType", "INT", "UINT", "FLOAT", "DOUBLE"],
}


def test_field_layout_matches_ns3gym():
    file = messages().DESCRIPTOR
    assert file.package == "ns3opengym"
    assert set(file.message_types_by_name) == set(LAYOUT)
    for name, fields in LAYOUT.items():
        descriptor = file.message_types_by_name[name]
        assert {field.name: field.number for field in descriptor.fields} == fields, name
    for name, values in ENUMS.items():
        assert [value.name for value in file.enum_types_by_name[name].values] == values
        assert [value.number for value in file.enum_types_by_name[name].values] == list(range(len(values)))
    reason = file.message_types_by_name["EnvStateMsg"].enum_types_by_name["Reason"]
    assert [(v.name, v.number) for v in reason.values] == [("SimulationEnd", 0), ("GameOver", 1)]
    any_fields = [("SpaceDescription", "space"), ("DataContainer", "data")]
    for message, field in any_fields:
        assert file.message_types_by_name[message].fields_by_name[field].message_type.full_name == "google.protobuf.Any"


def test_known_bytes_on_the_wire():
    """A message serialises to the bytes an upstream peer expects (field numbers and wire types)."""
    pb = messages()
    assert pb.SimInitAck(done=True, stopSimReq=True).SerializeToString() == b"\x08\x01\x10\x01"
    assert pb.BoxDataContainer(dtype=pb.DOUBLE, shape=[1], doubleData=[1.0]).SerializeToString() == (
        b"\x08\x04\x12\x01\x01\x32\x08" + np.float64(1.0).tobytes()
    )


SPACES = [
    spaces.Discrete(7),
    spaces.Box(0.0, 5.0, (3,), np.float32),
    spaces.Box(-4, 4, (2, 2), np.int32),
    spaces.Box(0, 9, (4,), np.uint32),
    spaces.Box(1.0, 65536.0, (1,), np.float64),
    spaces.Tuple([spaces.Discrete(3), spaces.Box(0.0, 1.0, (2,), np.float64)]),
    spaces.Dict({"a": spaces.Discrete(2), "b": spaces.Box(-1.0, 1.0, (3,), np.float32)}),
]


@pytest.mark.parametrize("space", SPACES, ids=lambda s: type(s).__name__)
def test_spaces_and_values_round_trip(space):
    description = messages().SpaceDescription.FromString(space_to_description(space).SerializeToString())
    assert space_from_description(description) == space
    space.seed(0)
    for _ in range(3):
        value = space.sample()
        wire = messages().DataContainer.FromString(pack(value, space).SerializeToString())
        back = unpack(wire)
        if isinstance(space, spaces.Dict):
            assert back.keys() == value.keys() and all(np.array_equal(back[k], value[k]) for k in value)
        elif isinstance(space, spaces.Tuple):
            assert all(np.array_equal(b, v) for b, v in zip(back, value, strict=True))
        else:
            assert np.array_equal(back, value) and np.asarray(back).dtype == np.asarray(value).dtype


def test_unsupported_spaces_are_refused():
    with pytest.raises(ValueError, match="one low and one high bound"):
        space_to_description(spaces.Box(np.array([0.0, 1.0]), np.array([2.0, 3.0]), dtype=np.float64))
    with pytest.raises(ValueError, match="Discrete, Box, Tuple and Dict"):
        space_to_description(spaces.MultiBinary(3))
