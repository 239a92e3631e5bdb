// fuzz-local-dispatch: the local executor API (the `lrmd` libqb service, docs/protocol.md 4.2).
// Any process in the guest that runs as root or in the haclient group can connect to it and
// send requests, so its decoder and everything behind it take input from outside the
// daemon. Arbitrary bytes are a sequence of request payloads (split at NUL bytes, as the
// IPC payloads end), each served exactly as Server::local_executor_request serves it:
// Dispatcher::handle_local_payload (wire::decode_local_request with the IPC request id)
// on a local executor session, whose replies and events must be plain XML. The IPC header
// in front of each payload has its own target (fuzz-proxy, tool side).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dispatch_bench.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    outpost::fuzz::prepare_process();
    outpost::fuzz::FuzzBench bench;
    outpost::fuzz::FuzzBench::for_each_payload(std::string_view(reinterpret_cast<const char*>(data), size),
                                               [&](std::string_view payload) { bench.local(payload); });
    return 0;
}
