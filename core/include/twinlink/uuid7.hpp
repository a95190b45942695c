// twinlink/uuid7.hpp — time-ordered unique ids (UUID version 7, RFC 9562), used as batch ids.
#pragma once

#include <string>
#include <string_view>

namespace twinlink {

/// A new UUIDv7 in the canonical form "0193f1e2-8a4b-7c3d-9e2f-0123456789ab" (36 characters,
/// lower-case, hyphenated): 48 bits of Unix time in milliseconds, the version and variant bits, and
/// 74 bits that are random, except that within one process the ids are strictly increasing (as
/// strings and as numbers) even when many are made in the same millisecond or the wall clock steps
/// back (RFC 9562 section 6.2, method 1: a randomly seeded counter below the timestamp).
/// Thread-safe; never blocks. The random bits come from getrandom(2) on every call, so a forked
/// child does not repeat its parent's ids; early at boot, before the kernel's pool is ready, they
/// come from a generator seeded with the time and the process id instead (unique, not secret).
std::string uuid7();

/// True when `text` has the canonical UUID form: 8-4-4-4-12 hexadecimal digits separated by '-'
/// (either case). Any version and variant is accepted.
bool is_uuid(std::string_view text) noexcept;

}  // namespace twinlink
