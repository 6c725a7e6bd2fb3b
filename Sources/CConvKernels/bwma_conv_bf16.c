// The weight gradient of a bf16 convolution, dW[o, c, tap] = Σₚ dy[p, o] · x[p + tap, c], on AVX512-BF16's
// VDPBF16PS (16 fp32 lanes, each adding two exact bf16 products per instruction).
//
// Lanes are input channels, and each instruction covers two output positions: one operand holds x at two positions
// for 16 channels, interleaved (built from two loads of channels-last x), the other broadcasts dy at the same two
// positions for one output channel (a 32-bit pair, from a copy of dy with consecutive positions paired). Sixteen
// accumulators — one per output channel — hold a 16 × 16 block of one kernel tap; a block runs over all positions of
// a chunk of images sized for L2 (zero-padded x and the paired dy), then goes back to memory.
#include "bwma_conv.h"
#include "cpu.h"

#include <immintrin.h>
#include <string.h>

#define KERNEL __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

// Bytes of one chunk's padded input and paired output gradient: most of a 1 MiB L2 (Zen 4; 2 MiB on Sapphire Rapids).
enum { CHUNK_BYTES = 384 * 1024 };

// Kernel windows up to 8 × 8: `bwma_bf16_weight_gradient_add` sums a block's taps on the stack (1 KiB a tap).
enum { MAX_TAPS = 64 };

// Lane l of an accumulator holds input channel lane_channel[l] of its block (the order the 256-bit unpacks leave).
static const int lane_channel[16] = {0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15};

int bwma_bf16_weight_gradient_available(void) {
    CPU_SUPPORTS_ONCE(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16"));
}

int bwma_bf16_weight_gradient_supports(const bwma_conv_shape *s) {
    return s->batch > 0 && s->channels > 0 && s->channels % 16 == 0 && s->out_channels > 0 &&
           s->out_channels % 16 == 0 && s->kernel_h > 0 && s->kernel_w > 0 && s->stride_h > 0 && s->stride_w > 0 &&
           s->kernel_h * s->kernel_w <= MAX_TAPS && s->pad_h >= 0 && s->pad_w >= 0 && s->out_height > 0 &&
           s->out_width > 0 &&
           (s->out_height - 1) * s->stride_h + s->kernel_h <= s->height + 2 * s->pad_h &&
           (s->out_width - 1) * s->stride_w + s->kernel_w <= s->width + 2 * s->pad_w;
}

size_t bwma_bf16_weight_gradient_partial_floats(const bwma_conv_shape *s) {
    return (size_t)s->out_channels * s->channels * s->kernel_h * s->kernel_w;
}

static size_t padded_pixels(const bwma_conv_shape *s) {
    return (size_t)(s->height + 2 * s->pad_h) * (s->width + 2 * s->pad_w);
}

static size_t positions(const bwma_conv_shape *s) { return (size_t)s->out_height * s->out_width; }

static size_t round64(size_t bytes) { return (bytes + 63) / 64 * 64; }

// Images per chunk: as many as fit CHUNK_BYTES, and at least MIN_POSITIONS output positions — each 16 × 16 block of
// a tap goes to memory and back once per chunk (the partial sums of wide layers outgrow the caches: 9.4 MB at
// 512 × 512 channels), so a chunk of a few 7 × 7 images would spend more time moving them than summing.
enum { MIN_POSITIONS = 512 };

static int chunk_images(const bwma_conv_shape *s) {
    size_t per_image = padded_pixels(s) * s->channels * 2 + positions(s) * (s->out_channels * 2 + 4);
    size_t n = CHUNK_BYTES / per_image, least = (MIN_POSITIONS + positions(s) - 1) / positions(s);
    if (n < least) n = least;
    return n > (size_t)s->batch ? s->batch : (int)n;
}

// The scratch of a chunk of `images`: padded x, then paired dy, then the pairs' two input offsets.
typedef struct {
    uint16_t *x;
    uint32_t *dy;
    int32_t *offsets;
} chunk_scratch;

static chunk_scratch carve(const bwma_conv_shape *s, int images, void *scratch) {
    size_t pairs = (images * positions(s) + 1) / 2;
    char *p = scratch;
    chunk_scratch c;
    c.x = (uint16_t *)p;
    p += round64((size_t)images * padded_pixels(s) * s->channels * 2);
    c.dy = (uint32_t *)p;
    p += round64(pairs * s->out_channels * 4);
    c.offsets = (int32_t *)p;
    return c;
}

size_t bwma_bf16_weight_gradient_scratch_bytes(const bwma_conv_shape *s) {
    int images = chunk_images(s);
    size_t pairs = (images * positions(s) + 1) / 2;
    return round64((size_t)images * padded_pixels(s) * s->channels * 2) + round64(pairs * s->out_channels * 4) +
           round64(pairs * 2 * 4);
}

// Copies one row of x into the padded chunk: bf16 as it is, or codes widened to bf16.
typedef void (*row_copy)(uint16_t *dst, const void *src, long elements);

static void copy_bf16(uint16_t *dst, const void *src, long elements) { memcpy(dst, src, elements * 2); }

// Bytes < 256 to bf16 (exact: at most 8 significant bits); elements a multiple of 16.
KERNEL static void widen_codes(uint16_t *dst, const void *src, long elements) {
    const uint8_t *codes = src;
    long i = 0;
    for (; i + 32 <= elements; i += 32) {
        __m512 lo = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(codes + i))));
        __m512 hi = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(codes + i + 16))));
        _mm512_storeu_si512(dst + i, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
    for (; i < elements; i += 16) {
        __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(codes + i))));
        _mm256_storeu_si256((__m256i *)(dst + i), (__m256i)_mm512_cvtneps_pbh(v));
    }
}

// The chunk's images with their zero border: [images, height + 2·pad_h, width + 2·pad_w, channels]; x's elements
// are `size` bytes each (2: bf16, 1: codes), copied by `copy`.
static void pad_input(const bwma_conv_shape *s, const void *x, int size, row_copy copy, int images, uint16_t *out) {
    const int wp = s->width + 2 * s->pad_w, hp = s->height + 2 * s->pad_h;
    const size_t c = s->channels, row = (size_t)wp * c;
    for (int n = 0; n < images; n++) {
        for (int r = 0; r < hp; r++) {
            uint16_t *dst = out + ((size_t)n * hp + r) * row;
            int y = r - s->pad_h;
            if (y < 0 || y >= s->height) {
                memset(dst, 0, row * 2);
                continue;
            }
            memset(dst, 0, s->pad_w * c * 2);
            copy(dst + s->pad_w * c, (const char *)x + ((size_t)n * s->height + y) * s->width * c * size,
                 (long)s->width * c);
            memset(dst + (s->pad_w + s->width) * c, 0, s->pad_w * c * 2);
        }
    }
}

// dy of positions 2j and 2j + 1 (the chunk's positions in order, across images) as 32-bit pairs per output channel,
// the low half the first; an odd last position pairs with zero. Offsets: each position's top-left input pixel in
// the padded chunk, in elements.
KERNEL static void pair_gradient(const bwma_conv_shape *s, const uint16_t *dy, int images, uint32_t *out,
                                 int32_t *offsets) {
    const long pixels = (long)images * positions(s), k = s->out_channels;
    __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                          21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (long p = 0; p < pixels; p += 2) {
        const uint16_t *a = dy + p * k, *b = a + k;
        int second = p + 1 < pixels;
        uint32_t *dst = out + (p / 2) * k;
        for (long o = 0; o < k; o += 16) {
            __m256i lo = _mm256_loadu_si256((const __m256i *)(a + o));
            __m256i hi = second ? _mm256_loadu_si256((const __m256i *)(b + o)) : _mm256_setzero_si256();
            __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
            _mm512_storeu_si512(dst + o, _mm512_permutexvar_epi16(interleave, both));
        }
    }
    // Position (n, y, x) reads the padded input from row y·stride_h, column x·stride_w of image n on.
    const long wp = s->width + 2 * s->pad_w, image = (s->height + 2 * s->pad_h) * wp * s->channels;
    const long row = s->stride_h * wp * s->channels, step = (long)s->stride_w * s->channels;
    long q = 0;
    for (int n = 0; n < images; n++)
        for (int y = 0; y < s->out_height; y++)
            for (int x = 0; x < s->out_width; x++) offsets[q++] = (int32_t)(n * image + y * row + x * step);
    if (q % 2) offsets[q] = offsets[q - 1];  // the zero dy of an odd last position reads any valid pixel
}

// acc[16 output channels][16 lanes] (+)= Σ over `pairs` of the paired dy (one block of 16 output channels, `k`
// pairs per position pair) times x at the pairs' offsets (one block of 16 input channels at one tap); `add`: 0 starts
// from zero.
KERNEL static void tap_block(const uint16_t *x, const uint32_t *dy, long k, const int32_t *offsets, long pairs,
                             float *acc, int add) {
    __m512 a[16];
    for (int o = 0; o < 16; o++) a[o] = add ? _mm512_loadu_ps(acc + 16 * o) : _mm512_setzero_ps();
    for (long j = 0; j < pairs; j++) {
        __m256i first = _mm256_loadu_si256((const __m256i *)(x + offsets[2 * j]));
        __m256i second = _mm256_loadu_si256((const __m256i *)(x + offsets[2 * j + 1]));
        __m512bh v = (__m512bh)_mm512_inserti64x4(_mm512_castsi256_si512(_mm256_unpacklo_epi16(first, second)),
                                                  _mm256_unpackhi_epi16(first, second), 1);
        const uint32_t *d = dy + j * k;
        for (int o = 0; o < 16; o++) a[o] = _mm512_dpbf16_ps(a[o], v, (__m512bh)_mm512_set1_epi32((int)d[o]));
    }
    for (int o = 0; o < 16; o++) _mm512_storeu_ps(acc + 16 * o, a[o]);
}

// The partial's layout: [out block][in block][tap][16 output channels][16 lanes].
static void gradient(const bwma_conv_shape *s, const void *x, int size, row_copy copy, const uint16_t *dy, int first,
                     int count, float *partial, void *scratch) {
    const int kb = s->out_channels / 16, cb = s->channels / 16, taps = s->kernel_h * s->kernel_w;
    const long wp = s->width + 2 * s->pad_w, c = s->channels;
    const int most = chunk_images(s);
    for (int n = first; n < first + count; n += most) {
        int images = first + count - n < most ? first + count - n : most;
        chunk_scratch sc = carve(s, images, scratch);
        pad_input(s, (const char *)x + (size_t)n * s->height * s->width * c * size, size, copy, images, sc.x);
        pair_gradient(s, dy + (size_t)n * positions(s) * s->out_channels, images, sc.dy, sc.offsets);
        long pairs = ((long)images * positions(s) + 1) / 2;
        for (int o = 0; o < kb; o++)
            for (int i = 0; i < cb; i++)
                for (int t = 0; t < taps; t++) {
                    const uint16_t *xt = sc.x + ((t / s->kernel_w) * wp + t % s->kernel_w) * c + 16 * i;
                    float *acc = partial + (((size_t)o * cb + i) * taps + t) * 256;
                    tap_block(xt, sc.dy + 16 * o, s->out_channels, sc.offsets, pairs, acc, n > first);
                }
    }
}

void bwma_bf16_weight_gradient(const bwma_conv_shape *s, const uint16_t *x, const uint16_t *dy, int first, int count,
                               float *partial, void *scratch) {
    gradient(s, x, 2, copy_bf16, dy, first, count, partial, scratch);
}

void bwma_bf16_weight_gradient_of_codes(const bwma_conv_shape *s, const uint8_t *codes, const uint16_t *dy, int first,
                                        int count, float *partial, void *scratch) {
    gradient(s, codes, 1, widen_codes, dy, first, count, partial, scratch);
}

// Block by block: the workers' partials summed in vectors, then added into dw in its own order (the block's taps and
// lanes transposed to channels and taps).
KERNEL void bwma_bf16_weight_gradient_add(const bwma_conv_shape *s, const float *const *partials, int workers,
                                          float *dw, int first_block, int blocks) {
    const int cb = s->channels / 16, taps = s->kernel_h * s->kernel_w;
    int lane_of[16];
    for (int l = 0; l < 16; l++) lane_of[lane_channel[l]] = l;
    float sum[taps * 256];
    for (int o = first_block; o < first_block + blocks; o++)
        for (int i = 0; i < cb; i++) {
            size_t block = ((size_t)o * cb + i) * taps * 256;
            for (int v = 0; v < taps * 16; v++) {
                __m512 acc = _mm512_loadu_ps(partials[0] + block + 16 * v);
                for (int w = 1; w < workers; w++)
                    acc = _mm512_add_ps(acc, _mm512_loadu_ps(partials[w] + block + 16 * v));
                _mm512_storeu_ps(sum + 16 * v, acc);
            }
            for (int r = 0; r < 16; r++)
                for (int ch = 0; ch < 16; ch++) {
                    float *out = dw + ((size_t)(16 * o + r) * s->channels + 16 * i + ch) * taps;
                    const float *in = sum + 16 * r + lane_of[ch];
                    for (int t = 0; t < taps; t++) out[t] += in[256 * t];
                }
        }
}
