// The engine's own bf16 weight gradient (Sources/CConvKernels/bwma_conv_bf16.c: the kernel every bf16 and W1A4 step
// runs for its narrow and strided layers) on its own, one thread: ResNet-20's layers at batch 128 and ResNet-18's
// at batch 32, best of R calls each, GFLOP/s counting every tap (padding included, as bench/conv_roofline.py does).
// Compare with the core's bf16 peak from bench/peak_dot.c. docs/benchmarks.md, "Latest (stop 38)".
//
//   clang -O2 -ISources/CConvKernels/include bench/weight_gradient_bf16.c Sources/CConvKernels/bwma_conv_bf16.c \
//       -o /tmp/wgrad && /tmp/wgrad [R]
#include "bwma_conv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// Random bf16 bit patterns in [1, 2) (x) and [2⁻⁷, 2⁻⁶) (dy): normal numbers, no special cases.
static uint16_t *random_bf16(size_t n, uint16_t base) {
    uint16_t *p = malloc(n * 2);
    for (size_t i = 0; i < n; i++) p[i] = base + (uint16_t)(rand() & 127);
    return p;
}

typedef struct {
    const char *name;
    int batch, channels, out_channels, size, stride;
} layer;

int main(int argc, char **argv) {
    const int rounds = argc > 1 ? atoi(argv[1]) : 7;
    if (!bwma_bf16_weight_gradient_available()) {
        fprintf(stderr, "this CPU lacks AVX512-BF16: the kernel does not run here\n");
        return 1;
    }
    const layer layers[] = {
        {"ResNet-20 16->16 32x32", 128, 16, 16, 32, 1},  {"ResNet-20 16->32 32x32 s2", 128, 16, 32, 32, 2},
        {"ResNet-20 32->32 16x16", 128, 32, 32, 16, 1},  {"ResNet-20 32->64 16x16 s2", 128, 32, 64, 16, 2},
        {"ResNet-20 64->64 8x8", 128, 64, 64, 8, 1},     {"ResNet-18 64->64 56x56", 32, 64, 64, 56, 1},
        {"ResNet-18 128->128 28x28", 32, 128, 128, 28, 1},
    };
    printf("| layer | batch | ms (best of %d) | GFLOP/s |\n|---|---|---|---|\n", rounds);
    for (size_t k = 0; k < sizeof layers / sizeof layers[0]; k++) {
        const layer *l = &layers[k];
        const int out = (l->size + 2 - 3) / l->stride + 1;
        bwma_conv_shape s = {l->batch, l->channels, l->size, l->size, l->out_channels, out, out, 3, 3,
                             l->stride, l->stride, 1, 1};
        uint16_t *x = random_bf16((size_t)l->batch * l->size * l->size * l->channels, 0x3f80);
        uint16_t *dy = random_bf16((size_t)l->batch * out * out * l->out_channels, 0x3c00);
        float *partial = aligned_alloc(64, bwma_bf16_weight_gradient_partial_floats(&s) * 4);
        void *scratch = aligned_alloc(64, bwma_bf16_weight_gradient_scratch_bytes(&s));
        double best = 1e30;
        for (int r = 0; r < rounds; r++) {
            double t = now();
            bwma_bf16_weight_gradient(&s, x, dy, 0, l->batch, partial, scratch);
            t = now() - t;
            if (t < best) best = t;
        }
        double flop = 2.0 * l->batch * out * out * l->out_channels * l->channels * 9;
        printf("| %s | %d | %.2f | %.0f |\n", l->name, l->batch, best * 1e3, flop / best / 1e9);
        free(x), free(dy), free(partial), free(scratch);
    }
    return 0;
}
