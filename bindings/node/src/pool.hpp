// pool.hpp — the addon's own threads for the blocking calls of the C ABI.
//
// connect, disconnect, shadow requests, flush and subscribe block their thread. They must not run on
// the JS thread, and not on libuv's thread pool either: that pool has four threads by default and
// fs, dns and zlib share it, so a hundred devices connecting at once would stall the whole process.
// This pool is the addon's alone, shared by every environment (main thread and workers) of the
// process. It starts threads as jobs arrive, up to a limit (TWINLINK_NODE_THREADS, default 64;
// further jobs wait in order), and a thread that has been idle for a while exits.
#pragma once

#include <functional>

namespace twinlink_node {

// Runs `job` on a pool thread. Never blocks. `job` must not throw.
void RunBlocking(std::function<void()> job);

}  // namespace twinlink_node
