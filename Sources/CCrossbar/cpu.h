// The CPU features the kernels of this target need, tested once per process (each translation unit its own copy of
// the cached answers), and the target attributes of the kernels that use them.
#ifndef BWMA_CROSSBAR_CPU_H
#define BWMA_CROSSBAR_CPU_H

#include <immintrin.h>

#define KERNEL __attribute__((target("avx512f,avx512bw,avx512vl,avx512vpopcntdq")))

// The packed shift-add's lookups and byte dot products (AVX512-VBMI, AVX512-VNNI) on top of `KERNEL`'s.
#define CODES_KERNEL __attribute__((target("avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx512vbmi,avx512vnni")))

#define TRANSPOSE_KERNEL __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,gfni")))

// AVX-512 F, BW and VL alone (`avx512()`): kernels that run on every AVX-512 CPU.
#define TILE_KERNEL __attribute__((target("avx512f,avx512bw,avx512vl")))

// Whether the CPU has AVX-512 F, BW and VL (every kernel here needs them).
static inline int avx512(void) {
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vl");
    }
    return known;
}

// Whether `masks_gfni` and `bytes_to_planes_vbmi` run here (GFNI's bit-matrix transform, AVX512-VBMI's byte
// permutes).
static inline int transposes_bits(void) {
    static int known = -1;
    if (known < 0) known = avx512() && __builtin_cpu_supports("gfni") && __builtin_cpu_supports("avx512vbmi");
    return known;
}

#endif
