#ifndef BWMA_CONV_H
#define BWMA_CONV_H

#include <stddef.h>
#include <stdint.h>

/// A convolution's geometry: input [batch, height, width, channels] and output gradient [batch, out_height,
/// out_width, out_channels], both bf16 channels-last; weights [out_channels, channels, kernel_h, kernel_w]; the
/// same padding on both sides of each axis.
typedef struct {
    int batch, channels, height, width;
    int out_channels, out_height, out_width;
    int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
} bwma_conv_shape;

/// 1 when this CPU runs `bwma_bf16_weight_gradient` (AVX-512 F, BW, VL and AVX512-BF16's VDPBF16PS), else 0.
int bwma_bf16_weight_gradient_available(void);

/// 1 when the kernel takes this shape: channels and out_channels multiples of 16, at most 64 kernel taps, a valid
/// geometry.
int bwma_bf16_weight_gradient_supports(const bwma_conv_shape *s);

/// Floats of one worker's partial sums (`partial` below): out_channels · channels · kernel_h · kernel_w.
size_t bwma_bf16_weight_gradient_partial_floats(const bwma_conv_shape *s);

/// Bytes of one worker's `scratch` below (the zero-padded input and the paired output gradient of one chunk of
/// images, sized to stay in the core's L2 cache).
size_t bwma_bf16_weight_gradient_scratch_bytes(const bwma_conv_shape *s);

/// partial = Σ over images [first, first + count) of the weight gradient Σₚ dy[p, o] · x[p + tap, c], in fp32 from
/// the exact bf16 products (VDPBF16PS: two products per lane and instruction), in a blocked layout of its own that
/// `bwma_bf16_weight_gradient_add` reads. `x`, `dy`: the whole batch; count ≥ 1. Requires
/// `bwma_bf16_weight_gradient_available()` and `_supports(s)`.
void bwma_bf16_weight_gradient(const bwma_conv_shape *s, const uint16_t *x, const uint16_t *dy, int first, int count,
                               float *partial, void *scratch);

/// As `bwma_bf16_weight_gradient` for an input given as bytes (the k-bit codes of a quantized input, channels-last):
/// each read as the bf16 of its integer value (exact), with no bf16 copy of the input.
void bwma_bf16_weight_gradient_of_codes(const bwma_conv_shape *s, const uint8_t *codes, const uint16_t *dy, int first,
                                        int count, float *partial, void *scratch);

/// dw[o, c, i, j] (OIHW, fp32) += the sum of the `workers` partials (≥ 1, added in worker order), for the output
/// channels of blocks [first_block, first_block + blocks) (16 channels a block).
void bwma_bf16_weight_gradient_add(const bwma_conv_shape *s, const float *const *partials, int workers, float *dw,
                                   int first_block, int blocks);

/// 1 when this CPU and shape run `bwma_bf16_conv3x3_forward`: AVX512-BF16, a 3 × 3 kernel with stride 1 and padding
/// 1, 16 or 32 input channels, output channels a multiple of 16, a width that is a multiple of 16.
int bwma_bf16_conv3x3_supports(const bwma_conv_shape *s);

/// 32-bit words of the packed weights: out_channels · 9 · channels / 2.
size_t bwma_bf16_conv3x3_packed_words(const bwma_conv_shape *s);

/// The weights in bf16 (nearest, ties to even) as the kernel reads them: [out_channels / 16][tap][channels / 2][16]
/// pairs of input channels, the lower one in the low half. `w`: fp32 [out_channels][channels][3][3]; with `turned`,
/// fp32 [channels][out_channels][3][3] used with its channels swapped and its kernel turned by 180° (the transposed
/// convolution whose forward is another's input gradient).
void bwma_bf16_conv3x3_pack(const bwma_conv_shape *s, const float *w, int turned, uint32_t *packed);

/// y [n, height, width, out_channels] = the convolution of x [n, height, width, channels] (bf16, channels-last) with
/// the packed weights, for images [first, first + count): fp32, or (`bf16_out`) rounded to bf16 (nearest, ties to
/// even). Exact bf16 products, fp32 sums in the kernel's order (taps by rows, then input-channel pairs).
void bwma_bf16_conv3x3_forward(const bwma_conv_shape *s, const uint16_t *x, const uint32_t *packed, void *y,
                               int bf16_out, int first, int count);

/// A binarized layer's per-output-channel terms (`bwma_codes_conv3x3_forward`): y = scale·(B ⊛ j) + (offset·(1 ⊛ j)
/// + shift), out_channels floats each.
typedef struct {
    const float *scale, *offset, *shift;
} bwma_codes_terms;

/// 1 when this CPU and shape run `bwma_codes_conv3x3_forward`: AVX512-VNNI, codes below 128 (`levels` = 2ᵏ − 1 <
/// 128), and the shapes `bwma_bf16_conv3x3_supports` takes.
int bwma_codes_conv3x3_supports(const bwma_conv_shape *s, int levels);

/// 32-bit words of the packed signs: out_channels · 9 · channels / 4.
size_t bwma_codes_conv3x3_packed_words(const bwma_conv_shape *s);

/// B ∈ {−1, +1} ([out_channels][channels][3][3], as signs > 0) packed as 0/1 bytes:
/// [out_channels / 16][tap][channels / 4][16] words of four input channels, the lowest in the low byte.
void bwma_codes_conv3x3_pack(const bwma_conv_shape *s, const int8_t *signs, uint32_t *packed);

/// y [n, height, width, out_channels] = scale_o·(B ⊛ j) + (offset_o·S₁ + shift_o) for images [first, first + count)
/// of the codes j [n, height, width, channels] (bytes, channels-last), with `window_sums` S₁ = 1 ⊛ j [n, height·width]
/// (`bwma_window_sums`): fp32, or (`bf16_out`) rounded to bf16 (nearest, ties to even) — bit for bit
/// `IntegerConvKernels.combine` of the exact sums.
void bwma_codes_conv3x3_forward(const bwma_conv_shape *s, const uint8_t *codes, const uint32_t *packed,
                                const int32_t *window_sums, const bwma_codes_terms *terms, void *y, int bf16_out,
                                int first, int count);

/// Int32s of `scratch` for `bwma_window_sums`: the zero-bordered plane of channel sums and the kernel rows' sums.
size_t bwma_window_sums_scratch_ints(const bwma_conv_shape *s);

/// One image's window sums, 1 ⊛ j: sums[oy·out_width + ox] = Σ of codes[y, x, c] over all channels c and the
/// kernel window of output position (oy, ox) (zero padding). `codes`: [height, width, channels] bytes
/// (channels-last); batch, out_channels and the dy side of the shape are not read. Any x86-64 CPU (AVX2 where it
/// has it).
void bwma_window_sums(const bwma_conv_shape *s, const uint8_t *codes, int32_t *sums, int32_t *scratch);

/// `bwma_window_sums` without AVX2 (what a CPU without it runs; tests compare the two).
void bwma_window_sums_generic(const bwma_conv_shape *s, const uint8_t *codes, int32_t *sums, int32_t *scratch);

/// The soft staircase's backward (Quantization's BWMA activation quantizer): for 0 ≤ x ≤ clip
/// dx = dy·(1 − amplitude·P(w²)) with u = x·inverse_step, w = (u − round(u))·two_pi and P the polynomial with
/// coefficients `cosine` (highest power of w² first, Horner's rule); dx = 0 outside.
typedef struct {
    float clip, inverse_step, amplitude, two_pi;
    float cosine[7];
} bwma_staircase;

/// 1 when this CPU runs `bwma_soft_staircase_backward` (AVX-512 F), else 0.
int bwma_soft_staircase_available(void);

/// dx[i] for i < count as above, the same Float operations in the same order as the Swift lanes (no FMA).
void bwma_soft_staircase_backward(float *dx, const float *dy, const float *x, long count, const bwma_staircase *s);

/// out[i] = dx[i] + shortcut[i] where x[i] > 0, else 0, with dx as `bwma_soft_staircase_backward` computes it: a
/// residual block's input gradient through its first convolution's quantizer and the ReLU before the block, in one
/// pass — the bits of the staircase's pass followed by `ElementwiseKernels.addMasked`.
void bwma_soft_staircase_backward_add_masked(float *out, const float *dy, const float *x, const float *shortcut,
                                             long count, const bwma_staircase *s);

#endif
