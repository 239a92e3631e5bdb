// bench-wire: encode and decode throughput of a typical exec notification (the message
// the agent sends most, like docs/transcripts/transcript1.txt's, with 12 parameters), through all layers:
// typed struct -> XML -> frame, and bytes -> frame -> XML -> typed struct.
// The Catch benchmarks give timing distributions; the "throughput" case prints plain
// messages-per-CPU-second figures for docs/benchmarks.md.
#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <string>

#include "wire/frame.hpp"
#include "wire/messages.hpp"

using namespace outpost::wire;

namespace {

ExecNotify typical_notify()
{
    ExecNotify n;
    n.timeout_ms = 20000;
    n.interval_ms = 10000;
    n.exec_rc = 0;
    n.call_id = 1234;
    n.run_time = 1795571864;
    n.exec_time_ms = 35;
    n.rsc_id = "vip-web";
    n.action = "monitor";
    n.userdata = "23:4:0:6a0a6f47-1a1a-4c1b-8e5e-0c1f8e8a2b11";
    const std::pair<const char*, const char*> params[] = {
        {"ip", "192.168.122.200"},
        {"cidr_netmask", "24"},
        {"nic", "eth0"},
        {"state", "/var/lib/probe/dummy1.state"},
        {"envfile", "/var/lib/probe/dummy1.env"},
        {"CRM_meta_timeout", "20000"},
        {"CRM_meta_interval", "10000"},
        {"CRM_meta_name", "monitor"},
        {"CRM_meta_on_node", "guest1"},
        {"CRM_meta_on_node_uuid", "guest1"},
        {"OCF_CHECK_LEVEL", "0"},
        {"crm_feature_set", "3.16.2"},
    };
    for (auto [name, value] : params)
        n.params.insert(name, value);
    return n;
}

std::string frame_bytes(const EncodedFrame& frame)
{
    std::string out(reinterpret_cast<const char*>(frame.header.data()), frame.header.size());
    out += frame.payload;
    return out;
}

EncodedFrame encode_all(const ExecNotify& notify)
{
    return encode_frame(encode(notify));
}

ExecNotify decode_all(FrameDecoder& decoder, const std::string& bytes)
{
    decoder.feed(bytes.data(), bytes.size());
    auto payload = decoder.next();
    if (!payload.ok() || !payload->has_value()) FAIL("frame did not decode");
    auto message = decode_message(**payload);
    if (!message.ok()) FAIL(message.error().describe());
    return std::get<ExecNotify>(std::move(*message));
}

double thread_cpu_seconds()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Messages per CPU-second of this thread: the build machine is shared (2 cores, other
// jobs running), so wall-clock rates would measure the neighbours as much as the codec.
template <typename F>
double per_cpu_second(F&& f, double cpu_seconds)
{
    const double start = thread_cpu_seconds();
    std::size_t count = 0;
    double used = 0;
    while (used < cpu_seconds) {
        for (int i = 0; i < 200; ++i)
            f();
        count += 200;
        used = thread_cpu_seconds() - start;
    }
    return static_cast<double>(count) / used;
}

}  // namespace

TEST_CASE("exec notify codec", "[bench]")
{
    const ExecNotify notify = typical_notify();
    const std::string xml = encode(notify);
    const std::string bytes = frame_bytes(encode_frame(xml));
    FrameDecoder decoder;
    REQUIRE(decode_all(decoder, bytes) == notify);

    BENCHMARK("encode: struct -> XML -> frame")
    {
        return encode_all(notify);
    };
    BENCHMARK("decode: frame -> XML -> struct")
    {
        return decode_all(decoder, bytes);
    };
    BENCHMARK("serialize only (Element -> XML)")
    {
        static const Element element = to_element(Message{notify});
        return serialize(element);
    };
    BENCHMARK("parse only (XML -> Element, libxml2)")
    {
        return parse_xml(xml);
    };
}

TEST_CASE("throughput", "[bench]")
{
    const ExecNotify notify = typical_notify();
    const std::string bytes = frame_bytes(encode_all(notify));
    FrameDecoder decoder;
    const double encode_rate = per_cpu_second([&] { (void)encode_all(notify); }, 1.5);
    const double decode_rate = per_cpu_second([&] { (void)decode_all(decoder, bytes); }, 1.5);
    const std::string xml = encode(notify);
    const double parse_rate = per_cpu_second([&] { (void)parse_xml(xml); }, 1.0);
    std::printf("exec notify: %zu bytes on the wire, %zu parameters\n", bytes.size(), notify.params.size());
    std::printf("encode (struct -> XML -> frame): %.0f messages/s\n", encode_rate);
    std::printf("decode (frame -> XML -> struct): %.0f messages/s\n", decode_rate);
    std::printf("  of which XML parsing (libxml2 SAX2 -> Element): %.0f documents/s\n", parse_rate);
    std::printf("(per CPU-second of one thread)\n");
    CHECK(encode_rate > 0);
    CHECK(decode_rate > 0);
}
