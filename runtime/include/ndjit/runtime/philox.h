// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
// 3", SC 2011): a counter-based generator. Four 32-bit words are a pure
// function of a 128-bit counter and a 64-bit key, so element i of a random
// array can be computed anywhere, in any order, by any thread or vector
// lane, with the same bits. This scalar version is the reference the JIT's
// vector version (codegen/src/lower_random.cc) must match bit for bit.
#pragma once

#include <array>
#include <cstdint>

namespace ndjit::philox {

inline constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
inline constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
inline constexpr int kRounds = 10;

// The counter of element `index` of stream `stream`: (index lo, index hi,
// stream lo, stream hi); the key is the seed.
inline std::array<uint32_t, 4> Block(uint64_t index, uint64_t stream, uint64_t seed) {
  uint32_t c0 = static_cast<uint32_t>(index), c1 = static_cast<uint32_t>(index >> 32);
  uint32_t c2 = static_cast<uint32_t>(stream), c3 = static_cast<uint32_t>(stream >> 32);
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int r = 0; r < kRounds; ++r) {
    const uint64_t p0 = uint64_t{kM0} * c0, p1 = uint64_t{kM1} * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += kW0;
    k1 += kW1;
  }
  return {c0, c1, c2, c3};
}

// Words 0-3 pick one output word (or pair, for float64) of element i's own
// block. The pair words kPairX and kPairY (float32 only) let one block serve
// two elements: element i takes words (0, 1) of block i / 2 when i is even
// and (2, 3) when it is odd, as its x and y.
inline constexpr int kPairX = 4, kPairY = 5;
inline uint64_t CounterOf(uint64_t index, int word) { return word >= kPairX ? index >> 1 : index; }
inline int WordOf(uint64_t index, int word) {
  return word >= kPairX ? 2 * static_cast<int>(index & 1) + (word - kPairX) : word;
}

// Uniform in [0, 1): float32 from the top 24 bits of word w, float64 from
// the top 53 bits of words w (high) and w + 1 mod 4 (low).
inline float UniformF32(const std::array<uint32_t, 4>& b, int w) {
  return static_cast<float>(b[w] >> 8) * 0x1p-24f;
}
inline double UniformF64(const std::array<uint32_t, 4>& b, int w) {
  const uint64_t bits = (uint64_t{b[w]} << 32 | b[(w + 1) % 4]) >> 11;
  return static_cast<double>(bits) * 0x1p-53;
}

}  // namespace ndjit::philox
