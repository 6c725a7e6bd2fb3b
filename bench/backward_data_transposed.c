// bf16 backward data of a stride-1 convolution two ways, on Debian's oneDNN 2.6: its backward-data primitive, and a
// forward convolution of dy with the turned weights (what DNNLConvolution.TransposedData runs). Best of 7 calls each;
// GF/s count every tap, padding included. docs/benchmarks.md, "Latest (stop 34)".
//
//   gcc -O2 bench/backward_data_transposed.c -o /tmp/bdt -ldnnl
//   OMP_NUM_THREADS=2 /tmp/bdt N C O H K P     e.g. 32 64 64 56 3 1 (ResNet-18 layer 1 at batch 32)
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(x)                                                                 \
    do {                                                                         \
        dnnl_status_t status_ = (x);                                             \
        if (status_ != dnnl_success) {                                           \
            fprintf(stderr, "%s failed: status %d\n", #x, (int)status_);         \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

static dnnl_engine_t engine;
static dnnl_stream_t stream;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void desc(dnnl_memory_desc_t *md, const dnnl_dims_t dims, dnnl_data_type_t type, dnnl_format_tag_t tag) {
    CHECK(dnnl_memory_desc_init_by_tag(md, 4, dims, type, tag));
}

static dnnl_memory_t zeroed(const dnnl_memory_desc_t *md) {
    dnnl_memory_t m;
    void *p;
    CHECK(dnnl_memory_create(&m, md, engine, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_get_data_handle(m, &p));
    memset(p, 0, dnnl_memory_desc_get_size(md));
    return m;
}

// The best of 7 calls after 2 warm-up calls, in seconds.
static double best_time(dnnl_primitive_t p, dnnl_exec_arg_t *args) {
    double best = 1e9;
    for (int i = 0; i < 9; i++) {
        double t = now();
        CHECK(dnnl_primitive_execute(p, stream, 3, args));
        CHECK(dnnl_stream_wait(stream));
        t = now() - t;
        if (i >= 2 && t < best) best = t;
    }
    return best;
}

static const char *implementation(const_dnnl_primitive_desc_t pd) {
    const char *name = "?";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
    return name;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s N C O H K P (batch, in/out channels, square size, kernel, padding)\n", argv[0]);
        return 2;
    }
    int n = atoi(argv[1]), c = atoi(argv[2]), o = atoi(argv[3]), h = atoi(argv[4]), k = atoi(argv[5]);
    int p = atoi(argv[6]), oh = h + 2 * p - k + 1;
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    dnnl_dims_t src = {n, c, h, h}, wei = {o, c, k, k}, dst = {n, o, oh, oh}, turned = {c, o, k, k};
    dnnl_dims_t strides = {1, 1}, pad = {p, p}, turnedPad = {k - 1 - p, k - 1 - p};

    // oneDNN's backward data (with its forward as the hint): dx f32, dy bf16, both channels-last.
    dnnl_memory_desc_t x16, w16, y32, dx32, dy16;
    desc(&x16, src, dnnl_bf16, dnnl_nhwc);
    desc(&w16, wei, dnnl_bf16, dnnl_format_tag_any);
    desc(&y32, dst, dnnl_f32, dnnl_nhwc);
    desc(&dx32, src, dnnl_f32, dnnl_nhwc);
    desc(&dy16, dst, dnnl_bf16, dnnl_nhwc);
    dnnl_convolution_desc_t fd, bd;
    CHECK(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &x16, &w16, NULL,
                                             &y32, strides, pad, pad));
    dnnl_primitive_desc_t hint, bpd;
    CHECK(dnnl_primitive_desc_create(&hint, &fd, NULL, engine, NULL));
    CHECK(dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &dx32, &w16, &dy16, strides, pad,
                                                   pad));
    CHECK(dnnl_primitive_desc_create(&bpd, &bd, NULL, engine, hint));
    dnnl_primitive_t backward;
    CHECK(dnnl_primitive_create(&backward, bpd));
    dnnl_memory_t dy = zeroed(&dy16), dx = zeroed(&dx32);
    dnnl_memory_t wb = zeroed(dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 0));
    dnnl_exec_arg_t bargs[3] = {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, wb}, {DNNL_ARG_DIFF_SRC, dx}};
    double tb = best_time(backward, bargs);

    // The same as a forward: src dy, weights [C, O, K, K], dst dx, padding K − 1 − P.
    dnnl_memory_desc_t t16;
    desc(&t16, turned, dnnl_bf16, dnnl_format_tag_any);
    dnnl_convolution_desc_t td;
    CHECK(dnnl_convolution_forward_desc_init(&td, dnnl_forward_inference, dnnl_convolution_direct, &dy16, &t16, NULL,
                                             &dx32, strides, turnedPad, turnedPad));
    dnnl_primitive_desc_t tpd;
    CHECK(dnnl_primitive_desc_create(&tpd, &td, NULL, engine, NULL));
    dnnl_primitive_t forward;
    CHECK(dnnl_primitive_create(&forward, tpd));
    dnnl_memory_t wt = zeroed(dnnl_primitive_desc_query_md(tpd, dnnl_query_weights_md, 0));
    dnnl_exec_arg_t targs[3] = {{DNNL_ARG_SRC, dy}, {DNNL_ARG_WEIGHTS, wt}, {DNNL_ARG_DST, dx}};
    double tt = best_time(forward, targs);

    double gflop = 2.0 * n * o * c * k * k * (double)h * h / 1e9;
    printf("N%d C%d O%d H%d K%d: backward data %s %.2f ms (%.0f GF/s), transposed forward %s %.2f ms (%.0f GF/s), "
           "ratio %.2f\n", n, c, o, h, k, implementation(bpd), tb * 1e3, gflop / tb, implementation(tpd), tt * 1e3,
           gflop / tt, tt / tb);
    return 0;
}
