// The datapath's input images from channels-last bytes to channel planes, plain or inside zero-padded frames
// (AVX512-VBMI where the CPU has it, element by element elsewhere).
#include "bwma_crossbar.h"
#include "cpu.h"

// 4 positions × 16 channels per step: the four 16-byte pixels in one vector, one byte permute makes each channel's
// 4 bytes adjacent, and they go to the 16 channel planes (`stride` bytes apart) as 4-byte stores.
TRANSPOSE_KERNEL static long bytes_to_planes_vbmi(const uint8_t *src, long positions, int channels, uint8_t *dst,
                                                  long stride) {
    uint8_t order[64];
    for (int c = 0; c < 16; c++) {
        for (int q = 0; q < 4; q++) order[4 * c + q] = (uint8_t)(16 * q + c);
    }
    const __m512i permute = _mm512_loadu_si512(order);
    const long end = positions / 4 * 4;
    uint32_t lanes[16];
    for (long p = 0; p < end; p += 4) {
        for (int c0 = 0; c0 + 16 <= channels; c0 += 16) {
            __m512i z = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(src + p * channels + c0)));
            z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(src + (p + 1) * channels + c0)), 1);
            z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(src + (p + 2) * channels + c0)), 2);
            z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(src + (p + 3) * channels + c0)), 3);
            _mm512_storeu_si512(lanes, _mm512_permutexvar_epi8(permute, z));
            for (int c = 0; c < 16; c++) __builtin_memcpy(dst + (long)(c0 + c) * stride + p, &lanes[c], 4);
        }
    }
    return end;
}

// One run of `positions` pixels: channel c's bytes to dst + c·stride.
static void bytes_to_strided_planes(const uint8_t *src, long positions, int channels, uint8_t *dst, long stride) {
    long from = 0;
    if (channels % 16 == 0 && transposes_bits()) from = bytes_to_planes_vbmi(src, positions, channels, dst, stride);
    for (long p = from; p < positions; p++) {
        for (int c = 0; c < channels; c++) dst[(long)c * stride + p] = src[p * channels + c];
    }
}

void bwma_bytes_to_planes(const uint8_t *src, long positions, int channels, uint8_t *dst) {
    bytes_to_strided_planes(src, positions, channels, dst, positions);
}

void bwma_bytes_to_padded_planes(const uint8_t *src, long height, long width, int channels, long padded_height,
                                 long padded_width, long pad_h, long pad_w, uint8_t *dst) {
    for (long y = 0; y < height; y++) {
        bytes_to_strided_planes(src + y * width * channels, width, channels,
                                dst + (y + pad_h) * padded_width + pad_w, padded_height * padded_width);
    }
}
