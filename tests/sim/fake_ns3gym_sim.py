"""A stand-in for an upstream ns3-gym scenario, written against the protocol as ns3-gym's C++ side
speaks it (REQ socket, SimInitMsg, then EnvStateMsg per step), with Dict and Tuple spaces.

Observation: Dict(queue=Box(0, 100, (2,), int32), phase=Discrete(3)); action: Tuple(Discrete(4),
Box(-1, 1, (2,), float32)). Reward: the Discrete part of the last action plus the Box part's sum.
After --steps steps the simulation ends (reason SimulationEnd), as when an ns-3 run reaches its stop
time. Messages are built field by field here, not with sim.ns3.protocol, so the test is not circular.
"""

import argparse

import zmq

from sim.ns3.build import messages

pb = messages()
parser = argparse.ArgumentParser()
parser.add_argument("--openGymPort", type=int, required=True)
parser.add_argument("--simSeed", type=int, default=0)
parser.add_argument("--steps", type=int, default=3)
args = parser.parse_args()

socket = zmq.Context().socket(zmq.REQ)
socket.connect(f"tcp://localhost:{args.openGymPort}")


def described(kind, space, name=""):
    description = pb.SpaceDescription(type=kind, name=name)
    description.space.Pack(space)
    return description


def contained(kind, data, name=""):
    container = pb.DataContainer(type=kind, name=name)
    container.data.Pack(data)
    return container


init = pb.SimInitMsg(simProcessId=1, wafShellProcessId=2)
queue = described(pb.Box, pb.BoxSpace(low=0, high=100, dtype=pb.INT, shape=[2]), "queue")
phase = described(pb.Discrete, pb.DiscreteSpace(n=3), "phase")
init.obsSpace.CopyFrom(described(pb.Dict, pb.DictSpace(element=[queue, phase])))
choice = described(pb.Discrete, pb.DiscreteSpace(n=4))
gain = described(pb.Box, pb.BoxSpace(low=-1, high=1, dtype=pb.FLOAT, shape=[2]))
init.actSpace.CopyFrom(described(pb.Tuple, pb.TupleSpace(element=[choice, gain])))
socket.send(init.SerializeToString())
ack = pb.SimInitAck()
ack.ParseFromString(socket.recv())
assert ack.done and not ack.stopSimReq

reward = 0.0
for step in range(args.steps + 1):
    obs = pb.DictDataContainer(
        element=[
            contained(
                pb.Box, pb.BoxDataContainer(dtype=pb.INT, shape=[2], intData=[step, args.simSeed % 100]), "queue"
            ),
            contained(pb.Discrete, pb.DiscreteDataContainer(data=step % 3), "phase"),
        ]
    )
    over = step == args.steps
    state = pb.EnvStateMsg(reward=reward, isGameOver=over, reason=pb.EnvStateMsg.SimulationEnd, info=f"step={step}")
    state.obsData.CopyFrom(contained(pb.Dict, obs))
    socket.send(state.SerializeToString())
    action = pb.EnvActMsg()
    action.ParseFromString(socket.recv())
    if action.stopSimReq:
        break
    parts = pb.TupleDataContainer()
    action.actData.data.Unpack(parts)
    discrete, box = pb.DiscreteDataContainer(), pb.BoxDataContainer()
    parts.element[0].data.Unpack(discrete)
    parts.element[1].data.Unpack(box)
    reward = discrete.data + sum(box.floatData)
