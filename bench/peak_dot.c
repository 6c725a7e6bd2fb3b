// The core's peak multiply-add rate on the instructions oneDNN's bf16 and int8 kernels run on this ISA: vdpbf16ps
// (AVX512-BF16: 32 bf16 products summed into 16 fp32 lanes) and vpdpbusd (AVX512-VNNI: 64 u8 × s8 products into
// 16 s32 lanes), 12 independent accumulators (more than latency × throughput), registers only. One thread; prints
// one JSON object. The ceiling that bench/conv_roofline.py divides the convolutions' rates by.
//
//   gcc -O2 -mavx512f -mavx512bf16 -mavx512vnni bench/peak_dot.c -o /tmp/peak_dot && /tmp/peak_dot
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

// The rate of one multiply-add instruction: 12 independent accumulators (distinct starting values: twelve equal
// chains would be folded into one by the compiler) updated n times each, then summed so none is dead. NAME(n)
// returns G(FL)OP/s for an instruction doing OPS operations per vector.
#define RATE(NAME, VEC, START, X, Y, STEP, ADD, REDUCE, OPS)                                                      \
    static double NAME(long n) {                                                                               \
        VEC a[12];                                                                                             \
        for (int k = 0; k < 12; k++) a[k] = START(k);                                                          \
        const VEC x = X, y = Y;                                                                                \
        double t0 = seconds();                                                                                 \
        for (long i = 0; i < n; i++) {                                                                         \
            _Pragma("GCC unroll 12") for (int k = 0; k < 12; k++) a[k] = STEP(a[k], x, y);                    \
        }                                                                                                      \
        double t = seconds() - t0;                                                                             \
        for (int k = 1; k < 12; k++) a[0] = ADD(a[0], a[k]);                                                   \
        volatile double sink = REDUCE(a[0]);                                                                   \
        (void)sink;                                                                                            \
        return n * 12.0 * (OPS) / t / 1e9;                                                                     \
    }

#define BF16_STEP(a, x, y) _mm512_dpbf16_ps(a, (__m512bh)(x), (__m512bh)(y))
// GFLOP/s of vdpbf16ps: 32 bf16 products summed into 16 fp32 lanes, 2 flops each.
RATE(bf16_rate, __m512, _mm512_set1_ps, (__m512)_mm512_set1_epi16(0x3f80), (__m512)_mm512_set1_epi16(0x0001),
     BF16_STEP, _mm512_add_ps, _mm512_reduce_add_ps, 32 * 2)
// GOP/s of vpdpbusd: 64 u8 × s8 products summed into 16 s32 lanes, 2 ops each.
RATE(int8_rate, __m512i, _mm512_set1_epi32, _mm512_set1_epi8(1), _mm512_set1_epi8(1), _mm512_dpbusd_epi32,
     _mm512_add_epi32, _mm512_reduce_add_epi32, 64 * 2)

int main(void) {
    if (!__builtin_cpu_supports("avx512bf16") || !__builtin_cpu_supports("avx512vnni")) {
        printf("{\"error\": \"this CPU lacks AVX512-BF16 or AVX512-VNNI\"}\n");
        return 1;
    }
    long n = 100000000;
    bf16_rate(n / 10), int8_rate(n / 10);  // warm up: let the clock settle
    double b = bf16_rate(n), i = int8_rate(n);
    printf("{\"bf16_gflops\": %.1f, \"int8_gops\": %.1f}\n", b, i);
    return 0;
}
