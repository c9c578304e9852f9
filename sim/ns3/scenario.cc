// icl-testbed's ns-3 CSMA scenario, driven over the ns3-gym protocol.
//
// One 802.11 access point and maxStations stations within a metre of it (no losses but collisions);
// the first nStations are active and send saturated UDP uplink traffic (their MAC queue is topped
// up every 0.5 ms). Options depart from that world as sim/worlds.py does: Poisson or on/off traffic
// at an offered load (--traffic, --load, --capacityFps, --onMs, --offMs, --queueLimit), stations
// placed in a disc with a sensing range beyond which nodes do not hear each other (--positions,
// --sensingRange), RTS/CTS (--rtsCts, --controlMode), per-station rates, payloads and frame error
// rates at the AP (--dataModes, --payloads, --frameErrorRates), legacy stations that keep the
// standard's BEB whatever window is set (--legacy), and A-MPDU aggregation on HT and later standards
// (--maxAmpdu, e.g. 802.11ax as CCOD used it; QoS stations take their EDCA windows from the AP's
// beacons, so the agent's window is put back after each beacon). Every stepTime seconds, after a warm-up for association, the scenario sends the
// agent the statistics of the last step and receives the contention window W of the next one:
// CWmin = CWmax = W - 1 on every station (backoff uniform in [0, W - 1], as in sim/csma.py), or,
// with --cwMaxBeb > 0, binary exponential backoff from CWmin = W - 1 to CWmax = cwMaxBeb - 1.
// --schedule "step:n,step:n" changes the number of active stations from those steps on.
//
// Observation (Box of 7 doubles): attempts, the frames transmitted by the stations (data MPDUs,
// every MPDU inside an A-MPDU with aggregation; RTS frames with RTS/CTS), the attempts acknowledged
// (by ACK or Block Ack, one per MPDU; acknowledged management frames are no attempts but with RTS/CTS),
// frames failed (transmitted - acknowledged: collisions, and channel losses where there are some),
// the collision probability estimate failed / transmitted, the MSDU throughput at the AP in Mb/s,
// the number of Bianchi "virtual slots" seen by the AP (idle slots after DIFS, plus one per
// busy period) and the number of busy periods (transmissions, successful or colliding). Reward: the
// throughput. Info: "n_stations=..;window=..;step=..;acked=a/b/..", the last the frames each active
// station delivered in the step.
// Action: Box of 1 value, the window W in [1, 65536]. The run ends after --steps steps
// (game over: the final state carries reason GameOver; earlier states carry no reason, as in
// ns3-gym), or runs until the agent stops it when --steps=0. The first state reports the window in
// force before any action (802.11a's CWmin + 1 = 16). An attempt counts in the step in which its
// outcome is known (its acknowledgement, or the station's next attempt), acknowledged or not, so a
// step never reports more acknowledged than transmitted frames.
//
// Lifetime: the scenario exits (saying why on stderr) when the process that started it (or the one
// --parentPid names, as our Python agent does) is gone, and, when --agentTimeout > 0 (default 60 s), when the agent does not answer within that time (an
// agent that did not start it, ns3-gym's startSim=False, may vanish without a trace).

#include "messages.pb.h"

#include <ns3/applications-module.h>
#include <ns3/core-module.h>
#include <ns3/internet-module.h>
#include <ns3/mobility-module.h>
#include <ns3/network-module.h>
#include <ns3/wifi-module.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>
#include <thread>
#include <unistd.h>
#include <zmq.h>

using namespace ns3;

namespace
{

constexpr double kMaxWindow = 65536.0;
constexpr uint32_t kQueueDepth = 8;     // MPDUs kept waiting in each active station's MAC queue (+ an A-MPDU's)
constexpr uint32_t kUdpIpLlcBytes = 36; // UDP 8 + IPv4 20 + LLC/SNAP 8: MSDU = UDP payload + 36

[[noreturn]] void
Fail(const std::string& message)
{
    std::cerr << "scenario error: " << message << std::endl;
    std::exit(2);
}

// The simulation's end of the ns3-gym protocol: a ZeroMQ REQ socket, one reply per request.
class GymBridge
{
  public:
    // agentTimeout: seconds to wait for each reply before giving up on the agent (0: for ever).
    GymBridge(uint32_t port, double agentTimeout)
        : m_context(zmq_ctx_new()),
          m_socket(zmq_socket(m_context, ZMQ_REQ)),
          m_agentTimeout(agentTimeout)
    {
        int linger = 0;
        zmq_setsockopt(m_socket, ZMQ_LINGER, &linger, sizeof(linger));
        int timeoutMs = agentTimeout > 0 ? static_cast<int>(std::ceil(agentTimeout * 1000)) : -1;
        zmq_setsockopt(m_socket, ZMQ_RCVTIMEO, &timeoutMs, sizeof(timeoutMs));
        std::string address = "tcp://localhost:" + std::to_string(port);
        if (zmq_connect(m_socket, address.c_str()) != 0)
        {
            Fail("cannot connect to " + address + ": " + zmq_strerror(zmq_errno()));
        }
    }

    ~GymBridge()
    {
        zmq_close(m_socket);
        zmq_ctx_term(m_context);
    }

    void Exchange(const google::protobuf::Message& request, google::protobuf::Message& reply)
    {
        std::string bytes = request.SerializeAsString();
        if (zmq_send(m_socket, bytes.data(), bytes.size(), 0) < 0)
        {
            Fail(std::string("zmq send: ") + zmq_strerror(zmq_errno()));
        }
        zmq_msg_t message;
        zmq_msg_init(&message);
        if (zmq_msg_recv(&message, m_socket, 0) < 0)
        {
            if (zmq_errno() == EAGAIN)
            {
                std::ostringstream text;
                text << "no answer from the agent within " << m_agentTimeout
                     << " s (--agentTimeout); it is gone or stalled, so the simulation ends";
                Fail(text.str());
            }
            Fail(std::string("zmq receive: ") + zmq_strerror(zmq_errno()));
        }
        bool parsed = reply.ParseFromArray(zmq_msg_data(&message), zmq_msg_size(&message));
        zmq_msg_close(&message);
        if (!parsed)
        {
            Fail("agent sent a message that is not a " + reply.GetTypeName());
        }
    }

  private:
    void* m_context;
    void* m_socket;
    double m_agentTimeout;
};

// Exit, saying why, once the process that started us is gone (we are re-parented). Unlike
// PR_SET_PDEATHSIG this follows the parent process, not the thread that forked us, and it works
// when that parent is PID 1 (a container's shell, setsid, nohup).
// parent: the PID to outlive (0: whichever process started us). An agent that starts us names
// itself, which also covers an agent that dies before this check first runs.
void
ExitWithParent(pid_t parent)
{
    if (parent == 0)
        parent = ::getppid();
    std::thread([parent] {
        while (true)
        {
            if (::getppid() != parent)
            {
                std::cerr << "scenario: the process that started it (PID " << parent << ") is gone; exiting"
                          << std::endl;
                std::_Exit(4);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    }).detach();
}

ns3opengym::SpaceDescription
BoxDescription(float low, float high, ns3opengym::Dtype dtype, uint32_t size)
{
    ns3opengym::BoxSpace box;
    box.set_low(low);
    box.set_high(high);
    box.set_dtype(dtype);
    box.add_shape(size);
    ns3opengym::SpaceDescription description;
    description.set_type(ns3opengym::Box);
    description.mutable_space()->PackFrom(box);
    return description;
}

// The first value of a Box or Discrete action, whatever its dtype.
double
FirstValue(const ns3opengym::DataContainer& container)
{
    if (container.type() == ns3opengym::Discrete)
    {
        ns3opengym::DiscreteDataContainer discrete;
        container.data().UnpackTo(&discrete);
        return discrete.data();
    }
    ns3opengym::BoxDataContainer box;
    if (container.type() != ns3opengym::Box || !container.data().UnpackTo(&box))
    {
        Fail("the action must be a Box (or Discrete) holding the contention window W");
    }
    if (box.doubledata_size() > 0)
        return box.doubledata(0);
    if (box.floatdata_size() > 0)
        return box.floatdata(0);
    if (box.intdata_size() > 0)
        return box.intdata(0);
    if (box.uintdata_size() > 0)
        return box.uintdata(0);
    Fail("the action Box is empty; it must hold the contention window W");
}

enum class Traffic
{
    Saturated,
    Poisson,
    OnOff
};

// A station's UDP uplink: saturated (`depth` MPDUs kept in its MAC queue while active), or Poisson
// arrivals at SetRate's rate (while on, with on/off traffic: exponential on and off periods). The MAC
// queue's size limit drops what overflows.
class StationSource : public Application
{
  public:
    void Configure(Ptr<WifiMacQueue> queue,
                   uint32_t depth,
                   Address peer,
                   uint32_t payload,
                   Traffic traffic,
                   Time onMean,
                   Time offMean)
    {
        m_queue = queue;
        m_depth = depth;
        m_peer = peer;
        m_payload = payload;
        m_traffic = traffic;
        m_onMean = onMean;
        m_offMean = offMean;
    }

    void SetActive(bool active)
    {
        m_active = active;
    }

    void SetRate(double framesPerSecond)
    {
        m_rate = framesPerSecond;
    }

  private:
    void StartApplication() override
    {
        m_socket = Socket::CreateSocket(GetNode(), UdpSocketFactory::GetTypeId());
        m_socket->Connect(m_peer);
        if (m_traffic == Traffic::Saturated)
        {
            Refill();
            return;
        }
        m_exponential = CreateObject<ExponentialRandomVariable>();
        m_exponential->SetAttribute("Mean", DoubleValue(1.0));
        ScheduleArrival();
        if (m_traffic == Traffic::OnOff)
            ScheduleToggle();
    }

    void StopApplication() override
    {
        m_arrival.Cancel();
        m_toggle.Cancel();
        m_socket->Close();
    }

    void Refill()
    {
        uint32_t queued = m_queue->GetNPackets();
        for (uint32_t i = queued; m_active && i < m_depth; ++i)
        {
            m_socket->Send(Create<Packet>(m_payload));
        }
        m_arrival = Simulator::Schedule(MicroSeconds(500), &StationSource::Refill, this);
    }

    // Arrivals form a Poisson process of rate m_rate; those of an inactive or "off" station are lost,
    // which is the same process as pausing it (memoryless gaps).
    void ScheduleArrival()
    {
        Time gap = m_rate > 0 ? Seconds(m_exponential->GetValue() / m_rate) : MilliSeconds(1);
        m_arrival = Simulator::Schedule(gap, &StationSource::Arrive, this);
    }

    void Arrive()
    {
        if (m_active && m_on && m_rate > 0)
            m_socket->Send(Create<Packet>(m_payload));
        ScheduleArrival();
    }

    void ScheduleToggle()
    {
        Time mean = m_on ? m_onMean : m_offMean;
        m_toggle = Simulator::Schedule(Seconds(m_exponential->GetValue() * mean.GetSeconds()), &StationSource::Toggle, this);
    }

    void Toggle()
    {
        m_on = !m_on;
        ScheduleToggle();
    }

    Ptr<WifiMacQueue> m_queue;
    uint32_t m_depth = kQueueDepth;
    Ptr<Socket> m_socket;
    Ptr<ExponentialRandomVariable> m_exponential;
    Address m_peer;
    uint32_t m_payload = 0;
    Traffic m_traffic = Traffic::Saturated;
    Time m_onMean;
    Time m_offMean;
    double m_rate = 0;
    bool m_active = false;
    bool m_on = true; // on/off traffic starts "on"
    EventId m_arrival;
    EventId m_toggle;
};

// Channel errors: each station's data frames that reach the AP cleanly are lost with that station's
// frame error rate, so a failure is not always a collision.
class SenderErrorModel : public ErrorModel
{
  public:
    void SetRate(Mac48Address sender, double rate)
    {
        m_rates[sender] = rate;
    }

  private:
    bool DoCorrupt(Ptr<Packet> packet) override
    {
        WifiMacHeader header;
        if (packet->PeekHeader(header) == 0 || !header.IsData())
            return false;
        auto found = m_rates.find(header.GetAddr2());
        return found != m_rates.end() && m_uniform->GetValue() < found->second;
    }

    void DoReset() override
    {
    }

    std::map<Mac48Address, double> m_rates;
    Ptr<UniformRandomVariable> m_uniform = CreateObject<UniformRandomVariable>();
};

struct Counters
{
    uint64_t transmitted = 0;
    uint64_t acked = 0;
    uint64_t receivedBytes = 0;
    double virtualSlots = 0;
    double busyPeriods = 0;
};

class CsmaScenario
{
  public:
    CsmaScenario(GymBridge& bridge,
                 uint32_t steps,
                 Time stepTime,
                 std::map<uint32_t, uint32_t> schedule,
                 uint32_t cwMaxBeb)
        : m_bridge(bridge),
          m_steps(steps),
          m_stepTime(stepTime),
          m_schedule(std::move(schedule)),
          m_cwMaxBeb(cwMaxBeb)
    {
    }

    // A legacy station keeps its standard's BEB whatever window the agent sets.
    void AddStation(Ptr<Txop> txop, Ptr<StationSource> source, bool legacy)
    {
        if (m_txops.empty())
            m_window = txop->GetMinCw() + 1; // the window in force before the agent's first action
        m_txops.push_back(txop);
        m_sources.push_back(source);
        m_legacy.push_back(legacy);
        m_outstanding.push_back(0);
        m_acked.push_back(0);
    }

    // Unsaturated traffic: the active stations together offer `load` x `capacityFps` frames per second
    // on average (`duty`: the share of time a station is on).
    void SetOfferedLoad(double load, double capacityFps, double duty)
    {
        m_load = load;
        m_capacityFps = capacityFps;
        m_duty = duty;
    }

    // The AP's slot and DIFS (AIFS of best effort with QoS).
    void SetApTiming(Time slot, Time difs)
    {
        m_slot = slot;
        m_difs = difs;
    }

    // A QoS station takes its EDCA windows from every beacon (the AP's own, which stay the standard's
    // so that its ADDBA responses are not starved); the agent's window is put back right after.
    void OnStationBeacon(Time)
    {
        Simulator::ScheduleNow(&CsmaScenario::ApplyWindow, this);
    }

    // A data frame's attempt is outstanding from its transmission until its ACK or the station's
    // next attempt (a failure). Attempts outstanding when a step ends count in the next step, with
    // their ACK, so a step never reports more acknowledged frames than transmitted ones.
    // With RTS/CTS an attempt is an RTS (what collides), as in sim/engine.py; else a data frame.
    void CountRtsAsAttempts(bool rts)
    {
        m_rtsAttempts = rts;
    }

    // One PSDU: a single MPDU, or the MPDUs of an A-MPDU, each an attempt of its own.
    void OnStationTx(uint32_t station, WifiConstPsduMap psdus, WifiTxVector, double)
    {
        for (const auto& [staId, psdu] : psdus)
        {
            const WifiMacHeader& header = psdu->GetHeader(0);
            if (m_rtsAttempts ? header.IsRts() : header.IsData())
            {
                m_now.transmitted += psdu->GetNMpdus();
                m_outstanding[station] = psdu->GetNMpdus();
            }
        }
    }

    // An acknowledgement counts with the attempt it resolves, the station's last one, while that has
    // MPDUs outstanding: a data MPDU's or, with RTS/CTS, an RTS's (whatever frame it protected). Without
    // RTS/CTS management frames (association and ADDBA requests, sent as a station joins and sets up
    // Block Ack) are acknowledged too but are no attempts, so their acknowledgements do not count.
    void OnStationAcked(uint32_t station, Ptr<const WifiMpdu> mpdu)
    {
        if (!(m_rtsAttempts || mpdu->GetHeader().IsData()) || m_outstanding[station] == 0)
            return;
        --m_outstanding[station];
        ++m_now.acked;
        ++m_acked[station];
    }

    void OnApRx(Ptr<const Packet> packet)
    {
        m_now.receivedBytes += packet->GetSize();
    }

    // Bianchi's virtual slots seen by the AP: an idle period of d >= DIFS closes one busy period
    // and holds floor((d - DIFS) / slot) idle backoff slots; shorter gaps (SIFS) are inside one.
    void OnApState(Time, Time duration, WifiPhyState state)
    {
        if (state == WifiPhyState::IDLE && duration >= m_difs)
        {
            m_now.virtualSlots += 1 + std::floor((duration - m_difs).GetSeconds() / m_slot.GetSeconds());
            m_now.busyPeriods += 1;
        }
    }

    // The first step reports the end of the warm-up, from the time the sources start.
    void Start(Time sourcesStart, Time firstStep)
    {
        m_lastTime = sourcesStart;
        m_lastAcked = m_acked;
        SetActiveStations(ActiveAt(0));
        Simulator::Schedule(firstStep, &CsmaScenario::Step, this);
    }

  private:
    uint32_t ActiveAt(uint32_t step) const
    {
        uint32_t n = 0;
        for (const auto& [from, count] : m_schedule)
            if (from <= step)
                n = count;
        return n;
    }

    void SetActiveStations(uint32_t n)
    {
        m_active = n;
        for (uint32_t i = 0; i < m_sources.size(); ++i)
        {
            m_sources[i]->SetActive(i < n);
            m_sources[i]->SetRate(m_load * m_capacityFps / (n * m_duty));
        }
    }

    void SetWindow(double window)
    {
        if (!(window >= 1 && window <= kMaxWindow))
        {
            std::ostringstream message;
            message << "the contention window W must be in [1, " << kMaxWindow << "], got " << window;
            Fail(message.str());
        }
        m_window = static_cast<uint32_t>(std::lround(window));
        m_agentSet = true;
        ApplyWindow();
    }

    // The agent's window on every obedient station (from its first action on).
    void ApplyWindow()
    {
        if (!m_agentSet)
            return;
        uint32_t cwMax = m_cwMaxBeb > 0 ? std::max(m_window, m_cwMaxBeb) : m_window;
        for (uint32_t i = 0; i < m_txops.size(); ++i)
        {
            if (m_legacy[i])
                continue;
            m_txops[i]->SetMinCw(m_window - 1);
            m_txops[i]->SetMaxCw(cwMax - 1);
        }
    }

    void Step()
    {
        uint64_t outstanding = std::accumulate(m_outstanding.begin(), m_outstanding.end(), uint64_t{0});
        Counters delta{m_now.transmitted - m_last.transmitted + m_deferred - outstanding,
                       m_now.acked - m_last.acked,
                       m_now.receivedBytes - m_last.receivedBytes,
                       m_now.virtualSlots - m_last.virtualSlots,
                       m_now.busyPeriods - m_last.busyPeriods};
        m_last = m_now;
        m_deferred = outstanding;
        double failed = delta.transmitted > delta.acked ? double(delta.transmitted - delta.acked) : 0.0;
        double collision = delta.transmitted > 0 ? failed / delta.transmitted : 0.0;
        double throughput = 8.0 * delta.receivedBytes / (Simulator::Now() - m_lastTime).GetSeconds() / 1e6;
        m_lastTime = Simulator::Now();

        ns3opengym::BoxDataContainer box;
        box.set_dtype(ns3opengym::DOUBLE);
        box.add_shape(7);
        for (double value : {double(delta.transmitted),
                             double(delta.acked),
                             failed,
                             collision,
                             throughput,
                             delta.virtualSlots,
                             delta.busyPeriods})
            box.add_doubledata(value);
        ns3opengym::EnvStateMsg state;
        state.mutable_obsdata()->set_type(ns3opengym::Box);
        state.mutable_obsdata()->mutable_data()->PackFrom(box);
        state.set_reward(static_cast<float>(throughput));
        bool over = m_steps > 0 && m_step >= m_steps;
        state.set_isgameover(over);
        if (over) // as ns3-gym: a reason only on the final state (the step limit is the game's end)
            state.set_reason(ns3opengym::EnvStateMsg::GameOver);
        std::ostringstream info;
        info << "n_stations=" << m_active << ";window=" << m_window << ";step=" << m_step << ";acked=";
        for (uint32_t i = 0; i < m_active; ++i) // frames each active station delivered in the step
            info << (i ? "/" : "") << m_acked[i] - m_lastAcked[i];
        m_lastAcked = m_acked;
        state.set_info(info.str());

        ns3opengym::EnvActMsg action;
        m_bridge.Exchange(state, action);
        if (action.stopsimreq() || over)
        {
            Simulator::Stop();
            return;
        }
        SetWindow(FirstValue(action.actdata()));
        SetActiveStations(ActiveAt(m_step));
        ++m_step;
        Simulator::Schedule(m_stepTime, &CsmaScenario::Step, this);
    }

    GymBridge& m_bridge;
    uint32_t m_steps;
    Time m_stepTime;
    std::map<uint32_t, uint32_t> m_schedule;
    uint32_t m_cwMaxBeb;
    std::vector<Ptr<Txop>> m_txops;
    std::vector<Ptr<StationSource>> m_sources;
    bool m_rtsAttempts = false;
    std::vector<bool> m_legacy;
    std::vector<uint32_t> m_outstanding; // attempts of each station's last transmission not yet acknowledged
    std::vector<uint64_t> m_acked;
    std::vector<uint64_t> m_lastAcked;
    double m_load = 0;
    double m_capacityFps = 0;
    double m_duty = 1;
    uint64_t m_deferred = 0;
    Time m_slot;
    Time m_difs;
    bool m_agentSet = false;
    Counters m_now;
    Counters m_last;
    Time m_lastTime;
    uint32_t m_step = 0;
    uint32_t m_active = 0;
    uint32_t m_window = 0;
};

// N at step 0 and its changes "step:n,...". maxStations = 0 means the largest N scheduled (at most
// 2^16) and is set to it; every N must be in [1, maxStations].
std::map<uint32_t, uint32_t>
ParseSchedule(uint32_t nStations, const std::string& text, uint32_t& maxStations)
{
    std::map<uint32_t, uint32_t> schedule{{0, nStations}};
    std::istringstream entries(text);
    std::string entry;
    while (std::getline(entries, entry, ','))
    {
        auto colon = entry.find(':');
        if (colon == std::string::npos)
            Fail("--schedule entries are step:n, got '" + entry + "'");
        schedule[std::stoul(entry.substr(0, colon))] = std::stoul(entry.substr(colon + 1));
    }
    uint32_t bound = maxStations == 0 ? 1u << 16 : maxStations;
    for (const auto& [step, n] : schedule)
    {
        if (n < 1 || n > bound)
            Fail("the number of stations must be in [1, maxStations=" + std::to_string(bound) + "], got " +
                 std::to_string(n) + " at step " + std::to_string(step));
        maxStations = std::max(maxStations, n);
    }
    return schedule;
}

WifiStandard
ParseStandard(const std::string& name)
{
    static const std::map<std::string, WifiStandard> standards{
        {"80211a", WIFI_STANDARD_80211a},
        {"80211g", WIFI_STANDARD_80211g},
        {"80211n", WIFI_STANDARD_80211n},
        {"80211ac", WIFI_STANDARD_80211ac},
        {"80211ax", WIFI_STANDARD_80211ax},
    };
    auto found = standards.find(name);
    if (found == standards.end())
        Fail("unknown --standard '" + name + "'; allowed: 80211a, 80211g, 80211n, 80211ac, 80211ax");
    return found->second;
}

// A per-station list "a,b,c" (or "x,y;x,y" with separator ';'): empty, or one entry per station.
std::vector<std::string>
ParseList(const std::string& text, uint32_t count, const std::string& name, char separator = ',')
{
    std::vector<std::string> entries;
    std::istringstream stream(text);
    std::string entry;
    while (std::getline(stream, entry, separator))
        entries.push_back(entry);
    if (!entries.empty() && entries.size() != count)
        Fail("--" + name + " needs one entry per station (" + std::to_string(count) + "), got " +
             std::to_string(entries.size()));
    return entries;
}

Traffic
ParseTraffic(const std::string& name)
{
    static const std::map<std::string, Traffic> traffic{
        {"saturated", Traffic::Saturated},
        {"poisson", Traffic::Poisson},
        {"onoff", Traffic::OnOff},
    };
    auto found = traffic.find(name);
    if (found == traffic.end())
        Fail("unknown --traffic '" + name + "'; allowed: saturated, poisson, onoff");
    return found->second;
}

} // namespace

int
main(int argc, char* argv[])
{
    GOOGLE_PROTOBUF_VERIFY_VERSION;

    uint32_t openGymPort = 5555;
    uint32_t simSeed = 1;
    uint32_t nStations = 10;
    uint32_t maxStations = 0;
    std::string schedule;
    double stepTime = 0.1;
    uint32_t steps = 0;
    double warmup = 0.5;
    std::string standard = "80211a";
    std::string dataMode = "OfdmRate54Mbps";
    uint32_t payload = 1500;
    uint32_t cwMaxBeb = 0;
    double agentTimeout = 60;
    uint32_t parentPid = 0;
    std::string traffic = "saturated";
    double load = 1.0;
    double capacityFps = 0;
    double onMs = 20;
    double offMs = 20;
    uint32_t queueLimit = 100;
    std::string positions;
    double sensingRange = 0;
    bool rtsCts = false;
    std::string controlMode;
    std::string dataModes;
    std::string payloads;
    std::string frameErrorRates;
    std::string legacy;
    uint32_t maxAmpdu = 0;
    uint32_t channelWidth = 20;

    CommandLine cmd(__FILE__);
    cmd.AddValue("openGymPort", "port the agent's REP socket listens on", openGymPort);
    cmd.AddValue("simSeed", "run number of ns-3's random streams", simSeed);
    cmd.AddValue("nStations", "active stations at the start", nStations);
    cmd.AddValue("maxStations", "stations created (default: the largest N of the schedule)", maxStations);
    cmd.AddValue("schedule", "changes of N: 'step:n,step:n'", schedule);
    cmd.AddValue("stepTime", "seconds of simulated time per step", stepTime);
    cmd.AddValue("steps", "steps before game over (0: until the agent stops)", steps);
    cmd.AddValue("warmup", "seconds for association before the first step", warmup);
    cmd.AddValue("standard", "80211a, 80211g, 80211n, 80211ac or 80211ax", standard);
    cmd.AddValue("dataMode", "constant data rate mode, e.g. OfdmRate54Mbps, ErpOfdmRate54Mbps, HtMcs7", dataMode);
    cmd.AddValue("payload", "MSDU bytes (UDP payload + 36 bytes of UDP/IP/LLC headers)", payload);
    cmd.AddValue("cwMaxBeb", "0: fixed window W; else binary exponential backoff up to this window", cwMaxBeb);
    cmd.AddValue("agentTimeout", "seconds to wait for each answer of the agent before exiting (0: for ever)",
                 agentTimeout);
    cmd.AddValue("parentPid", "exit once this process is gone (0: the process that started the scenario)", parentPid);
    cmd.AddValue("traffic", "saturated, poisson or onoff (Poisson arrivals during exponential on periods)", traffic);
    cmd.AddValue("load", "unsaturated: the active stations' offered load, a share of capacityFps", load);
    cmd.AddValue("capacityFps", "unsaturated: frames per second of a collision-free channel", capacityFps);
    cmd.AddValue("onMs", "onoff: mean on period (ms)", onMs);
    cmd.AddValue("offMs", "onoff: mean off period (ms)", offMs);
    cmd.AddValue("queueLimit", "frames a station's MAC queue holds", queueLimit);
    cmd.AddValue("positions", "stations' 'x,y;x,y;...' in units of the AP's range (100 m); default: 1 m around it",
                 positions);
    cmd.AddValue("sensingRange", "range (units of 100 m) within which nodes hear each other; 0: all hear all",
                 sensingRange);
    cmd.AddValue("rtsCts", "RTS/CTS before every data frame", rtsCts);
    cmd.AddValue("controlMode", "rate mode of RTS frames (default: dataMode)", controlMode);
    cmd.AddValue("dataModes", "each station's data rate mode 'm,m,...' (default: dataMode)", dataModes);
    cmd.AddValue("payloads", "each station's MSDU bytes 'b,b,...' (default: payload)", payloads);
    cmd.AddValue("frameErrorRates", "each station's frame error rate at the AP 'f,f,...' (default: 0)",
                 frameErrorRates);
    cmd.AddValue("legacy", "'0,1,...': stations that keep the standard's BEB whatever window is set", legacy);
    cmd.AddValue("channelWidth", "MHz (20, 40, 80 or 160 where the standard allows)", channelWidth);
    cmd.AddValue("maxAmpdu", "largest A-MPDU in bytes on HT and later standards (0: one MPDU per frame)", maxAmpdu);
    cmd.Parse(argc, argv);
    // Die with the agent that started us: no orphan simulation ever outlives its Python process.
    ExitWithParent(static_cast<pid_t>(parentPid));

    if (agentTimeout < 0)
        Fail("--agentTimeout must be >= 0 (0: wait for ever)");
    if (stepTime <= 0 || warmup <= 0)
        Fail("--stepTime and --warmup must be positive");
    if (payload <= kUdpIpLlcBytes)
        Fail("--payload (MSDU bytes) must exceed " + std::to_string(kUdpIpLlcBytes));
    auto parsedSchedule = ParseSchedule(nStations, schedule, maxStations);
    WifiStandard wifiStandard = ParseStandard(standard);
    Traffic trafficModel = ParseTraffic(traffic);
    if (trafficModel != Traffic::Saturated && !(load > 0 && load <= 1 && capacityFps > 0))
        Fail("unsaturated traffic needs --load in (0, 1] and --capacityFps > 0");
    if (!(onMs > 0 && offMs > 0) || queueLimit < 1 || sensingRange < 0)
        Fail("--onMs and --offMs must be positive, --queueLimit >= 1 and --sensingRange >= 0");
    auto positionList = ParseList(positions, maxStations, "positions", ';');
    auto dataModeList = ParseList(dataModes, maxStations, "dataModes");
    auto payloadList = ParseList(payloads, maxStations, "payloads");
    auto errorList = ParseList(frameErrorRates, maxStations, "frameErrorRates");
    auto legacyList = ParseList(legacy, maxStations, "legacy");
    bool qos = wifiStandard != WIFI_STANDARD_80211a && wifiStandard != WIFI_STANDARD_80211g;
    if (maxAmpdu > 0 && !qos)
        Fail("--maxAmpdu needs an HT or later standard (80211n, 80211ac, 80211ax), got " + standard);
    if (maxAmpdu > 0 && rtsCts)
        Fail("--maxAmpdu and --rtsCts together are not supported (an RTS would count as one attempt for many MPDUs)");
    Config::SetDefault("ns3::WifiMacQueue::MaxSize", QueueSizeValue(QueueSize(std::to_string(queueLimit) + "p")));
    if (rtsCts)
        Config::SetDefault("ns3::WifiRemoteStationManager::RtsCtsThreshold", UintegerValue(0));
    RngSeedManager::SetSeed(1);
    RngSeedManager::SetRun(simSeed);

    NodeContainer ap(1);
    NodeContainer stations(maxStations);
    // With a sensing range, nodes hear each other at full power within it and not at all beyond it
    // (the AP reaches every station); without one, everyone hears everyone.
    YansWifiChannelHelper channel = YansWifiChannelHelper::Default();
    if (sensingRange > 0)
    {
        channel = YansWifiChannelHelper();
        channel.SetPropagationDelay("ns3::ConstantSpeedPropagationDelayModel");
        channel.AddPropagationLoss("ns3::RangePropagationLossModel", "MaxRange", DoubleValue(100 * sensingRange));
    }
    YansWifiPhyHelper phy;
    phy.SetChannel(channel.Create());
    phy.Set("ChannelSettings", StringValue("{0, " + std::to_string(channelWidth) + ", BAND_UNSPECIFIED, 0}"));
    WifiHelper wifi;
    wifi.SetStandard(wifiStandard);
    WifiMacHelper mac;
    Ssid ssid("icl-csma");
    mac.SetType("ns3::StaWifiMac", "Ssid", SsidValue(ssid));
    NetDeviceContainer stationDevices;
    for (uint32_t i = 0; i < maxStations; ++i)
    {
        std::string mode = dataModeList.empty() ? dataMode : dataModeList[i];
        wifi.SetRemoteStationManager("ns3::ConstantRateWifiManager", "DataMode", StringValue(mode),
                                     "ControlMode", StringValue(controlMode.empty() ? mode : controlMode));
        stationDevices.Add(wifi.Install(phy, mac, stations.Get(i)));
    }
    wifi.SetRemoteStationManager("ns3::ConstantRateWifiManager", "DataMode", StringValue(dataMode),
                                 "ControlMode", StringValue(controlMode.empty() ? dataMode : controlMode));
    mac.SetType("ns3::ApWifiMac", "Ssid", SsidValue(ssid));
    NetDeviceContainer apDevice = wifi.Install(phy, mac, ap);
    // One MPDU per frame, as in the slot model, unless --maxAmpdu aggregates; never A-MSDUs.
    Config::Set("/NodeList/*/DeviceList/*/$ns3::WifiNetDevice/Mac/BE_MaxAmpduSize", UintegerValue(maxAmpdu));
    Config::Set("/NodeList/*/DeviceList/*/$ns3::WifiNetDevice/Mac/BE_MaxAmsduSize", UintegerValue(0));

    MobilityHelper mobility;
    Ptr<ListPositionAllocator> placement = CreateObject<ListPositionAllocator>();
    placement->Add(Vector(0, 0, 0));
    for (uint32_t i = 0; i < maxStations; ++i)
    {
        double x, y;
        char comma;
        if (positionList.empty())
        {
            x = std::cos(2 * M_PI * i / maxStations);
            y = std::sin(2 * M_PI * i / maxStations);
        }
        else if (!(std::istringstream(positionList[i]) >> x >> comma >> y) || comma != ',')
            Fail("--positions entries are x,y, got '" + positionList[i] + "'");
        else
        {
            x *= 100;
            y *= 100;
        }
        placement->Add(Vector(x, y, 0));
    }
    mobility.SetPositionAllocator(placement);
    mobility.SetMobilityModel("ns3::ConstantPositionMobilityModel");
    mobility.Install(ap);
    mobility.Install(stations);

    InternetStackHelper internet;
    internet.Install(ap);
    internet.Install(stations);
    Ipv4AddressHelper addresses("10.1.0.0", "255.255.0.0");
    Ipv4InterfaceContainer apInterface = addresses.Assign(apDevice);
    addresses.Assign(stationDevices);
    NeighborCacheHelper().PopulateNeighborCache();

    const uint16_t port = 9;
    PacketSinkHelper sink("ns3::UdpSocketFactory", InetSocketAddress(Ipv4Address::GetAny(), port));
    sink.Install(ap).Start(Seconds(0));

    GymBridge bridge(openGymPort, agentTimeout);
    ns3opengym::SimInitMsg init;
    init.set_simprocessid(::getpid());
    init.set_wafshellprocessid(::getppid());
    *init.mutable_obsspace() = BoxDescription(0, 1e9, ns3opengym::DOUBLE, 7);
    *init.mutable_actspace() = BoxDescription(1, kMaxWindow, ns3opengym::DOUBLE, 1);
    ns3opengym::SimInitAck ack;
    bridge.Exchange(init, ack);
    if (ack.stopsimreq())
        return 0;

    CsmaScenario scenario(bridge, steps, Seconds(stepTime), parsedSchedule, cwMaxBeb);
    scenario.SetOfferedLoad(load, capacityFps, trafficModel == Traffic::OnOff ? onMs / (onMs + offMs) : 1.0);
    scenario.CountRtsAsAttempts(rtsCts);
    Ptr<WifiNetDevice> apWifi = DynamicCast<WifiNetDevice>(apDevice.Get(0));
    Ptr<SenderErrorModel> errors = CreateObject<SenderErrorModel>();
    Ptr<WifiMac> apMac = apWifi->GetMac();
    Ptr<Txop> apTxop = apMac->GetQosSupported() ? Ptr<Txop>(apMac->GetQosTxop(AC_BE)) : apMac->GetTxop();
    scenario.SetApTiming(apWifi->GetPhy()->GetSlot(),
                         apWifi->GetPhy()->GetSifs() + apTxop->GetAifsn() * apWifi->GetPhy()->GetSlot());
    apWifi->GetMac()->TraceConnectWithoutContext("MacRx", MakeCallback(&CsmaScenario::OnApRx, &scenario));
    apWifi->GetPhy()->GetState()->TraceConnectWithoutContext("State", MakeCallback(&CsmaScenario::OnApState, &scenario));
    Address apAddress = InetSocketAddress(apInterface.GetAddress(0), port);
    for (uint32_t i = 0; i < maxStations; ++i)
    {
        Ptr<WifiNetDevice> device = DynamicCast<WifiNetDevice>(stationDevices.Get(i));
        Ptr<WifiMac> stationMac = device->GetMac();
        Ptr<Txop> txop = stationMac->GetQosSupported() ? Ptr<Txop>(stationMac->GetQosTxop(AC_BE)) : stationMac->GetTxop();
        uint32_t bytes = payloadList.empty() ? payload : std::stoul(payloadList[i]);
        if (bytes <= kUdpIpLlcBytes)
            Fail("--payloads (MSDU bytes) must exceed " + std::to_string(kUdpIpLlcBytes));
        Ptr<StationSource> source = CreateObject<StationSource>();
        source->Configure(txop->GetWifiMacQueue(), kQueueDepth + maxAmpdu / bytes, apAddress, bytes - kUdpIpLlcBytes,
                          trafficModel, MilliSeconds(onMs), MilliSeconds(offMs));
        stations.Get(i)->AddApplication(source);
        source->SetStartTime(Seconds(warmup / 2));
        scenario.AddStation(txop, source, !legacyList.empty() && legacyList[i] == "1");
        if (!errorList.empty())
        {
            double rate = std::stod(errorList[i]);
            if (!(rate >= 0 && rate < 1))
                Fail("--frameErrorRates must be in [0, 1), got " + errorList[i]);
            errors->SetRate(device->GetMac()->GetAddress(), rate);
        }
        device->GetPhy()->TraceConnectWithoutContext("PhyTxPsduBegin",
                                                     MakeCallback(&CsmaScenario::OnStationTx, &scenario).Bind(i));
        stationMac->TraceConnectWithoutContext("AckedMpdu",
                                               MakeCallback(&CsmaScenario::OnStationAcked, &scenario).Bind(i));
        if (stationMac->GetQosSupported())
            stationMac->TraceConnectWithoutContext("BeaconArrival",
                                                   MakeCallback(&CsmaScenario::OnStationBeacon, &scenario));
    }
    apWifi->GetPhy()->SetPostReceptionErrorModel(errors);
    scenario.Start(Seconds(warmup / 2), Seconds(warmup));
    Simulator::Run();
    Simulator::Destroy();
    return 0;
}
