#include "actors/protocol/types/uuid.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>

namespace millrace::actors {

std::string make_uuid_v7() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  static uint64_t last_ms = 0;
  static uint64_t counter = 0; // 12-bit sequence within one millisecond (rand_a)
  uint64_t ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
  uint64_t rand_a, rand_b;
  {
    std::lock_guard<std::mutex> guard{mu};
    if (ms <= last_ms) {
      // Same (or an earlier, after a clock step) millisecond: keep ids
      // increasing by counting within the last one.
      ms = last_ms;
      if (++counter > 0xFFF) {
        counter = 0;
        last_ms = ++ms;
      }
    } else {
      last_ms = ms;
      counter = rng() & 0x3FF; // random start, leaving room to count
    }
    rand_a = counter;
    rand_b = rng();
  }
  char buf[64]; // 36 used; room for what the compiler cannot bound
  std::snprintf(buf, sizeof(buf), "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>((ms >> 16) & 0xFFFFFFFFULL),
                static_cast<unsigned long long>(ms & 0xFFFF),
                static_cast<unsigned long long>(0x7000 | (rand_a & 0xFFF)),
                static_cast<unsigned long long>(0x8000 | ((rand_b >> 48) & 0x3FFF)),
                static_cast<unsigned long long>(rand_b & 0xFFFFFFFFFFFFULL));
  return buf;
}

bool normalize_uuid(const std::string& in, std::string& out) {
  if (in.size() != 36)
    return false;
  out.resize(36);
  for (size_t i = 0; i < 36; ++i) {
    char c = in[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-')
        return false;
      out[i] = '-';
      continue;
    }
    if (c >= 'A' && c <= 'F')
      c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
    out[i] = c;
  }
  return true;
}

} // namespace millrace::actors
