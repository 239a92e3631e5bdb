// fuzz-dispatch: arbitrary bytes as a sequence of payloads from one TLS client (split at
// NUL bytes, as frame payloads end), each served exactly as Server::on_message serves it:
// Dispatcher::handle_remote_payload (wire::decode_remote_request, then the request or the
// ipc_fwd proxy message to the Dispatcher) over a real Executor whose children are
// recorded, never started. See dispatch_bench.hpp for the bench and its safety rules.
// Each input gets fresh state, so nothing grows from one input to the next.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dispatch_bench.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    outpost::fuzz::prepare_process();
    outpost::fuzz::FuzzBench bench;
    outpost::fuzz::FuzzBench::for_each_payload(std::string_view(reinterpret_cast<const char*>(data), size),
                                               [&](std::string_view payload) { bench.remote(payload); });
    return 0;
}
