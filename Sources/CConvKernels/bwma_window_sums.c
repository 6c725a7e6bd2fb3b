// The window sums of a binarized convolution's integer forward, 1 ⊛ j: for every output position the sum of the
// input codes under its window, over all channels (zero padding). Per image: the channel sums of every pixel into a
// zero-bordered plane (VPSADBW: 16 or 32 codes per instruction, where the CPU has AVX2), then the kernel's rows and
// columns summed over that plane, 8 output positions per vector. Integers throughout, so any order gives the same
// sums.
#include "bwma_conv.h"
#include "cpu.h"

#include <immintrin.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2")))

static int has_avx2(void) { CPU_SUPPORTS_ONCE(__builtin_cpu_supports("avx2")); }

static inline long plane_width(const bwma_conv_shape *s) { return s->width + 2L * s->pad_w; }
static inline long plane_height(const bwma_conv_shape *s) { return s->height + 2L * s->pad_h; }

size_t bwma_window_sums_scratch_ints(const bwma_conv_shape *s) {
    return (size_t)(plane_height(s) * (plane_width(s) + s->out_width));
}

// Σ_c p[c] for one pixel's `channels` codes.
AVX2 static inline int32_t pixel_sum_avx2(const uint8_t *p, int channels) {
    __m256i wide = _mm256_setzero_si256();
    int c = 0;
    for (; c + 32 <= channels; c += 32) {
        wide = _mm256_add_epi64(wide, _mm256_sad_epu8(_mm256_loadu_si256((const __m256i *)(p + c)),
                                                      _mm256_setzero_si256()));
    }
    __m128i sum = _mm_add_epi64(_mm256_castsi256_si128(wide), _mm256_extracti128_si256(wide, 1));
    for (; c + 16 <= channels; c += 16) {
        sum = _mm_add_epi64(sum, _mm_sad_epu8(_mm_loadu_si128((const __m128i *)(p + c)), _mm_setzero_si128()));
    }
    sum = _mm_add_epi64(sum, _mm_unpackhi_epi64(sum, sum));
    int32_t total = _mm_cvtsi128_si32(sum);
    for (; c < channels; c++) total += p[c];
    return total;
}

static inline int32_t pixel_sum(const uint8_t *p, int channels) {
    int32_t total = 0;
    for (int c = 0; c < channels; c++) total += p[c];
    return total;
}

// dst[x] = Σ_c src[x·C + c] for x < width: for C a multiple of 16, four pixels at a time — each pixel's 16-code
// chunks summed by VPSADBW into two 64-bit halves, the four pixels' halves folded by three horizontal adds.
AVX2 static void row_sums_avx2(const uint8_t *src, long width, int C, int32_t *dst) {
    long x = 0;
    if (C % 16 == 0) {
        for (; x + 4 <= width; x += 4) {
            __m128i h[4];
            for (int k = 0; k < 4; k++) {
                const uint8_t *p = src + (x + k) * C;
                __m128i acc = _mm_sad_epu8(_mm_loadu_si128((const __m128i *)p), _mm_setzero_si128());
                for (int c = 16; c < C; c += 16) {
                    acc = _mm_add_epi64(acc, _mm_sad_epu8(_mm_loadu_si128((const __m128i *)(p + c)),
                                                          _mm_setzero_si128()));
                }
                h[k] = acc;  // as 32-bit lanes: [low half, 0, high half, 0] (each half < 2³²)
            }
            const __m128i pairs = _mm_hadd_epi32(_mm_hadd_epi32(h[0], h[1]), _mm_hadd_epi32(h[2], h[3]));
            _mm_storeu_si128((__m128i *)(dst + x), pairs);
        }
    }
    for (; x < width; x++) dst[x] = pixel_sum_avx2(src + x * C, C);
}

// rows[y·outW + ox] = Σ_kx plane[y·PW + ox·stride_w + kx] for every plane row y; then
// sums[oy·outW + ox] = Σ_ky rows[(oy·stride_h + ky)·outW + ox]. 8 positions per vector where the CPU has AVX2.
AVX2 static void box_avx2(const bwma_conv_shape *s, const int32_t *plane, int32_t *rows, int32_t *sums) {
    const long pw = plane_width(s), ph = plane_height(s), ow = s->out_width;
    for (long y = 0; y < ph; y++) {
        const int32_t *src = plane + y * pw;
        int32_t *dst = rows + y * ow;
        long ox = 0;
        if (s->stride_w == 1) {
            for (; ox + 8 <= ow; ox += 8) {
                __m256i v = _mm256_setzero_si256();
                for (int kx = 0; kx < s->kernel_w; kx++) {
                    v = _mm256_add_epi32(v, _mm256_loadu_si256((const __m256i *)(src + ox + kx)));
                }
                _mm256_storeu_si256((__m256i *)(dst + ox), v);
            }
        }
        for (; ox < ow; ox++) {
            int32_t v = 0;
            for (int kx = 0; kx < s->kernel_w; kx++) v += src[ox * s->stride_w + kx];
            dst[ox] = v;
        }
    }
    for (long oy = 0; oy < s->out_height; oy++) {
        const int32_t *src = rows + oy * s->stride_h * ow;
        int32_t *dst = sums + oy * ow;
        long ox = 0;
        for (; ox + 8 <= ow; ox += 8) {
            __m256i v = _mm256_setzero_si256();
            for (int ky = 0; ky < s->kernel_h; ky++) {
                v = _mm256_add_epi32(v, _mm256_loadu_si256((const __m256i *)(src + ky * ow + ox)));
            }
            _mm256_storeu_si256((__m256i *)(dst + ox), v);
        }
        for (; ox < ow; ox++) {
            int32_t v = 0;
            for (int ky = 0; ky < s->kernel_h; ky++) v += src[ky * ow + ox];
            dst[ox] = v;
        }
    }
}

static void box(const bwma_conv_shape *s, const int32_t *plane, int32_t *rows, int32_t *sums) {
    const long pw = plane_width(s), ow = s->out_width;
    for (long y = 0; y < plane_height(s); y++) {
        for (long ox = 0; ox < ow; ox++) {
            int32_t v = 0;
            for (int kx = 0; kx < s->kernel_w; kx++) v += plane[y * pw + ox * s->stride_w + kx];
            rows[y * ow + ox] = v;
        }
    }
    for (long oy = 0; oy < s->out_height; oy++) {
        for (long ox = 0; ox < ow; ox++) {
            int32_t v = 0;
            for (int ky = 0; ky < s->kernel_h; ky++) v += rows[(oy * s->stride_h + ky) * ow + ox];
            sums[oy * ow + ox] = v;
        }
    }
}

static void window_sums(const bwma_conv_shape *s, const uint8_t *codes, int32_t *sums, int32_t *scratch, int avx2) {
    const long pw = plane_width(s), ph = plane_height(s), C = s->channels;
    int32_t *plane = scratch, *rows = scratch + ph * pw;
    // The border only: every pixel inside is written below.
    memset(plane, 0, (size_t)(s->pad_h * pw) * sizeof(int32_t));
    memset(plane + (ph - s->pad_h) * pw, 0, (size_t)(s->pad_h * pw) * sizeof(int32_t));
    for (long y = 0; y < s->height; y++) {
        int32_t *row = plane + (y + s->pad_h) * pw, *dst = row + s->pad_w;
        for (long x = 0; x < s->pad_w; x++) row[x] = row[pw - 1 - x] = 0;
        const uint8_t *src = codes + y * s->width * C;
        if (avx2) {
            row_sums_avx2(src, s->width, (int)C, dst);
        } else {
            for (long x = 0; x < s->width; x++) dst[x] = pixel_sum(src + x * C, (int)C);
        }
    }
    if (avx2) {
        box_avx2(s, plane, rows, sums);
    } else {
        box(s, plane, rows, sums);
    }
}

void bwma_window_sums(const bwma_conv_shape *s, const uint8_t *codes, int32_t *sums, int32_t *scratch) {
    window_sums(s, codes, sums, scratch, has_avx2());
}

void bwma_window_sums_generic(const bwma_conv_shape *s, const uint8_t *codes, int32_t *sums, int32_t *scratch) {
    window_sums(s, codes, sums, scratch, 0);
}
