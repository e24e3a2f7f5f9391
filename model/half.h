// Half-precision (IEEE binary16) copies of vectors, for scoring.
//
// The scorer reads an item's output vector for every candidate (several
// hundred per list) and input vectors for the shortlist; at 100k items the
// float tables are 51 MB and nearly every read misses the caches. Scoring
// from a binary16 copy reads half the bytes (two cache lines for 64
// dimensions instead of four) from tables a quarter the size of the float
// ones together. Training keeps float32: a binary16 step of size ~1e-4 on a
// weight of ~0.1 would round away.
//
// With F16C (x86-64-v3, the default build) conversions and the dot product
// are vector instructions; elsewhere Eigen::half converts one value at a
// time (the same round-to-nearest-even, so the stored bits agree).
#pragma once

#include <cstddef>
#include <cstdint>

#include <Eigen/Core>

#if defined(__F16C__) && defined(__FMA__)
#include <immintrin.h>
#define RECSTREAM_HALF_SIMD 1
#endif

namespace recstream::model {

inline uint16_t FloatToHalf(float f) { return Eigen::numext::bit_cast<uint16_t>(Eigen::half(f)); }

inline float HalfToFloat(uint16_t bits) { return static_cast<float>(Eigen::numext::bit_cast<Eigen::half>(bits)); }

// dst[i] = binary16(src[i]), rounded to nearest even.
inline void ToHalf(const float* src, uint16_t* dst, size_t n) {
  size_t i = 0;
#ifdef RECSTREAM_HALF_SIMD
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#endif
  for (; i < n; ++i) dst[i] = FloatToHalf(src[i]);
}

inline void FromHalf(const uint16_t* src, float* dst, size_t n) {
  size_t i = 0;
#ifdef RECSTREAM_HALF_SIMD
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
#endif
  for (; i < n; ++i) dst[i] = HalfToFloat(src[i]);
}

// u . h, h in binary16, summed in float.
inline float DotHalf(const float* u, const uint16_t* h, size_t n) {
  size_t i = 0;
  float sum = 0;
#ifdef RECSTREAM_HALF_SIMD
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  for (; i + 16 <= n; i += 16) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(u + i),
                         _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(u + i + 8),
                         _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i + 8))), a1);
  }
  for (; i + 8 <= n; i += 8)
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(u + i),
                         _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))), a0);
  const __m256 a = _mm256_add_ps(a0, a1);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  sum = _mm_cvtss_f32(s);
#endif
  for (; i < n; ++i) sum += u[i] * HalfToFloat(h[i]);
  return sum;
}

}  // namespace recstream::model
