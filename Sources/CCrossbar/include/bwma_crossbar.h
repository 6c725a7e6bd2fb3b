#ifndef BWMA_CROSSBAR_H
#define BWMA_CROSSBAR_H

#include <stdint.h>

/// The column ADC of the bit-serial datapath: code(s) = clamp(round(s·inverse_step), 0, top), rounding half to even,
/// and q(s) = code(s)·step (CIMSimulator's `ADCQuantizer`, the same arithmetic); `passes_through`: lossless, the sums
/// pass unchanged (step 1).
typedef struct {
    float inverse_step, step, top;
    int passes_through;
} bwma_adc;

/// 1 when this CPU runs `bwma_popcount_group` (AVX-512 with VPOPCNTDQ), else 0.
int bwma_popcount_available(void);

/// One row group (subarray) of the bit-serial datapath of ideal cells, as AND + popcount:
/// acc[c·lda + p] += Σⱼ 2ʲ·code(Σᵣ bitⱼ(codes[r·ld + p])·cell(c, r)) for p < n, as int32 (the Float buffer holds
/// integers until `bwma_popcount_finish`; zero bits are 0 in both); column `columns − 1` adds its sums without the
/// ADC when `exact_last_column` (a digital reference popcount), and every column does when the ADC passes through.
///
/// - codes: the group's `rows` rows of input codes (bytes < 2^bits), row stride `ld`.
/// - cells: [columns, words] bit masks over the group's rows: bit b of word w is row 32·w + b's cell (1: on);
///   words = ⌈rows / 32⌉.
/// - scratch: bits · words · ⌈n / 16⌉ · 16 words (the bit-planes as masks over the rows).
/// Requires `bwma_popcount_available()`, bits ≤ 8.
void bwma_popcount_group(const uint8_t *codes, int rows, long ld, long n, int bits, const uint32_t *cells,
                         int columns, bwma_adc adc, int exact_last_column, float *acc, long lda, uint32_t *scratch);

/// 1 when `bwma_popcount_group` packs four planes' sums in bytes for one code lookup and one byte dot product
/// (groups of at most 255 rows, codes of at most 4 bits, ADCs of at most 8 bits) — the CPU has AVX512-VBMI and VNNI,
/// and `bwma_popcount_allow_packed` has not turned it off —, else 0 (the codes lane by lane: the same integers).
int bwma_popcount_packs(void);

/// Allows (1, the default) or forbids (0) the packed shift-add: a switch for tests and comparisons (not thread-safe:
/// set it while no datapath runs).
void bwma_popcount_allow_packed(int allowed);

/// After the last group: acc[c·lda + p] = Float(the int32 there)·step (times 1 in exact columns), p < n — the
/// datapath's q-values, exact integers scaled by one rounding multiply (Σ below 2²⁴, as every mapped layer's is).
void bwma_popcount_finish(float *acc, long lda, long n, int columns, bwma_adc adc, int exact_last_column);

/// Where a group's rows lie when they are read from images instead of unrolled rows (`bwma_popcount_group_image`):
/// `images` holds zero-padded channel planes, one image every `image_stride` bytes, each plane `padded_width` bytes
/// wide; input position p of the group is output pixel (y, x) = ((p mod positions) / width, p mod width) of image
/// p / positions, and the group's row r at that position is the byte at
/// image + row_offset[r] + stride·(y·padded_width + x) (row_offset: its channel's plane and kernel tap, the padding
/// folded in; stride 1 or 2, the convolution's in both directions). With stride 2 a gather reads 16 bytes of a row:
/// the images need 16 readable bytes past the last one.
typedef struct {
    const uint8_t *images;
    long image_stride, positions, width, padded_width;
    const int64_t *row_offset;
    long stride;
} bwma_image_rows;

/// 1 when this CPU runs `bwma_popcount_group_image` (VPOPCNTDQ, GFNI and AVX512-VBMI), else 0.
int bwma_image_rows_available(void);

/// `bwma_popcount_group` with the rows read from images (`src`) — the same sums, no unrolled copy of the codes.
/// Requires `bwma_image_rows_available()`, width ≥ 7 (a block of 8 positions crosses at most one row end), n a
/// multiple of `positions` (whole images).
void bwma_popcount_group_image(const bwma_image_rows *src, int rows, long n, int bits, const uint32_t *cells,
                               int columns, bwma_adc adc, int exact_last_column, float *acc, long lda,
                               uint32_t *scratch);

/// dst[c·positions + p] = src[p·channels + c]: one image's channels-last bytes as channel planes (a byte
/// transpose; AVX512-VBMI where the CPU has it, else element by element).
void bwma_bytes_to_planes(const uint8_t *src, long positions, int channels, uint8_t *dst);

/// One image's channels-last bytes [height, width, channels] into the interiors of zero-padded channel planes:
/// dst[(c·padded_height + y + pad_h)·padded_width + x + pad_w] = src[(y·width + x)·channels + c] (the borders are
/// not written) — `bwma_bytes_to_planes` and the copy into the frame in one pass.
void bwma_bytes_to_padded_planes(const uint8_t *src, long height, long width, int channels, long padded_height,
                                 long padded_width, long pad_h, long pad_w, uint8_t *dst);

/// The digital step of a binarized layer's outputs (CIMSimulator's `OutputStage`): per channel c, Δα_c, Δβ_c and the
/// bias (NULL: none); the nominal off conductance `leak` (in units of G_on) and the gain 1 / (1 − leak) that undo it;
/// `bf16_output`: the outputs are stored as bf16 (rounded to nearest, ties to even: the engine's `BFloat16`).
typedef struct {
    const float *alpha_step, *beta_step, *bias;
    float leak, gain;
    int bf16_output;
} bwma_output_stage;

/// y[p·channels + c] = α_c·(2·on − ref) + (β_c·ref + bias_c), on = (acc[c·lda + p] − leak·ref)·gain,
/// ref = acc[channels·lda + p] (the reference row after the channels' rows), for p < n: the outputs channels-last,
/// straight from the accumulators (16 × 16 tiles on AVX-512, element by element elsewhere; the same bits). y holds
/// floats, or uint16_t bf16 bit patterns with `bf16_output`.
void bwma_output_channels_last(const bwma_output_stage *stage, const float *acc, long lda, long n, int channels,
                               void *y);

#endif
