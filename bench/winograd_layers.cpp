// oneDNN's direct and Winograd fp32 3x3 convolutions on the stride-1 layer shapes of ResNet-20 (batch 128) and
// ResNet-18 (batch 32): time of forward, backward data and backward weights (best of ROUNDS), the reorders a Winograd
// layer adds at its boundary (channels-last <-> oneDNN's blocked layout, per tensor), and Winograd's error against
// the direct sums (largest |difference| / largest |value|, and relative L2) on ReLU-like inputs. The evidence behind
// DNNLConvolution.Algorithm's rule (docs/benchmarks.md, stop 37).
//
//   g++ -O2 bench/winograd_layers.cpp -ldnnl -o /tmp/winograd_layers && OMP_NUM_THREADS=1 /tmp/winograd_layers [ROUNDS]
#include <dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

double seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Shape { int batch, channels, side; };

struct Pass {
    convolution_forward::primitive_desc fwd;
    convolution_backward_data::primitive_desc data;
    convolution_backward_weights::primitive_desc weights;
};

Pass make(const engine &eng, const Shape &s, algorithm alg, tag activations) {
    memory::dims act = {s.batch, s.channels, s.side, s.side}, wei = {s.channels, s.channels, 3, 3};
    memory::dims strides = {1, 1}, pad = {1, 1};
    auto a = memory::desc(act, dt::f32, activations), w = memory::desc(wei, dt::f32, tag::any);
    auto fwd = convolution_forward::primitive_desc(
        convolution_forward::desc(prop_kind::forward_training, alg, a, w, a, strides, pad, pad), eng);
    auto data = convolution_backward_data::primitive_desc(
        convolution_backward_data::desc(alg, a, w, a, strides, pad, pad), eng, fwd);
    auto weights = convolution_backward_weights::primitive_desc(
        convolution_backward_weights::desc(alg, a, w, a, strides, pad, pad), eng, fwd);
    return {fwd, data, weights};
}

void fill(memory &m, memory &plain, stream &s, const std::vector<float> &values) {
    std::copy(values.begin(), values.end(), static_cast<float *>(plain.get_data_handle()));
    reorder(plain, m).execute(s, plain, m);
}

std::vector<float> read(memory &m, const memory::desc &plain_desc, const engine &eng, stream &s) {
    memory plain(plain_desc, eng);
    reorder(m, plain).execute(s, m, plain);
    s.wait();
    auto *p = static_cast<float *>(plain.get_data_handle());
    return std::vector<float>(p, p + plain_desc.get_size() / sizeof(float));
}

// Runs one layer: returns {forward, backward data, backward weights} ms, the three results in plain layouts, the
// forward's implementation and its input's layout (the tensor a Winograd layer reorders at its boundary).
struct Run { double ms[3]; std::vector<float> out[3]; std::string impl; memory::desc src; };

Run run(const engine &eng, stream &s, const Shape &sh, algorithm alg, tag activations, int rounds,
        const std::vector<float> &x, const std::vector<float> &w, const std::vector<float> &dy) {
    Pass p = make(eng, sh, alg, activations);
    memory::dims act = {sh.batch, sh.channels, sh.side, sh.side}, wei = {sh.channels, sh.channels, 3, 3};
    auto plainAct = memory::desc(act, dt::f32, tag::nchw), plainWei = memory::desc(wei, dt::f32, tag::oihw);
    memory pa(plainAct, eng), pw(plainWei, eng);
    memory X(p.fwd.src_desc(), eng), W(p.fwd.weights_desc(), eng), Y(p.fwd.dst_desc(), eng);
    memory WD(p.data.weights_desc(), eng), DY(p.data.diff_dst_desc(), eng), DX(p.data.diff_src_desc(), eng);
    memory XW(p.weights.src_desc(), eng), DYW(p.weights.diff_dst_desc(), eng), DW(p.weights.diff_weights_desc(), eng);
    fill(X, pa, s, x); fill(XW, pa, s, x); fill(W, pw, s, w); fill(WD, pw, s, w);
    fill(DY, pa, s, dy); fill(DYW, pa, s, dy);
    convolution_forward f(p.fwd);
    convolution_backward_data bd(p.data);
    convolution_backward_weights bw(p.weights);
    Run r{{1e9, 1e9, 1e9}, {}, p.fwd.impl_info_str(), p.fwd.src_desc()};
    for (int i = 0; i < rounds; i++) {
        double t = seconds();
        f.execute(s, {{DNNL_ARG_SRC, X}, {DNNL_ARG_WEIGHTS, W}, {DNNL_ARG_DST, Y}});
        s.wait(); r.ms[0] = std::min(r.ms[0], (seconds() - t) * 1e3); t = seconds();
        bd.execute(s, {{DNNL_ARG_DIFF_SRC, DX}, {DNNL_ARG_WEIGHTS, WD}, {DNNL_ARG_DIFF_DST, DY}});
        s.wait(); r.ms[1] = std::min(r.ms[1], (seconds() - t) * 1e3); t = seconds();
        bw.execute(s, {{DNNL_ARG_SRC, XW}, {DNNL_ARG_DIFF_WEIGHTS, DW}, {DNNL_ARG_DIFF_DST, DYW}});
        s.wait(); r.ms[2] = std::min(r.ms[2], (seconds() - t) * 1e3);
    }
    r.out[0] = read(Y, plainAct, eng, s);
    r.out[1] = read(DX, plainAct, eng, s);
    r.out[2] = read(DW, plainWei, eng, s);
    return r;
}

// One channels-last <-> blocked reorder of an activation tensor (ms, best of rounds).
double reorderMs(const engine &eng, stream &s, const Shape &sh, const memory::desc &blocked, int rounds) {
    memory::dims act = {sh.batch, sh.channels, sh.side, sh.side};
    memory a(memory::desc(act, dt::f32, tag::nhwc), eng), b(blocked, eng);
    std::fill_n(static_cast<float *>(a.get_data_handle()), act[0] * act[1] * act[2] * act[3], 0.5f);
    reorder r(a, b);
    double best = 1e9;
    for (int i = 0; i < rounds; i++) {
        double t = seconds();
        r.execute(s, a, b);
        s.wait();
        best = std::min(best, (seconds() - t) * 1e3);
    }
    return best;
}

}  // namespace

int main(int argc, char **argv) {
    int rounds = argc > 1 ? std::atoi(argv[1]) : 7;
    engine eng(engine::kind::cpu, 0);
    stream s(eng);
    const Shape shapes[] = {{128, 16, 32}, {128, 32, 16}, {128, 64, 8},
                            {32, 64, 56}, {32, 128, 28}, {32, 256, 14}, {32, 512, 7}};
    std::printf("| layer | direct fwd / bwd data / bwd weights ms | Winograd ms | reorder ms (one tensor) | "
                "Winograd max err / max | relative L2 (y, dx, dW) |\n|---|---|---|---|---|---|\n");
    std::mt19937 gen(1);
    std::normal_distribution<float> normal(0, 1);
    for (const Shape &sh : shapes) {
        size_t nAct = size_t(sh.batch) * sh.channels * sh.side * sh.side, nWei = size_t(sh.channels) * sh.channels * 9;
        std::vector<float> x(nAct), w(nWei), dy(nAct);
        for (auto &v : x) v = std::max(0.f, normal(gen));
        for (auto &v : w) v = normal(gen) * std::sqrt(2.f / (9 * sh.channels));
        for (auto &v : dy) v = normal(gen);
        Run direct = run(eng, s, sh, algorithm::convolution_direct, tag::nhwc, rounds, x, w, dy);
        Run wino = run(eng, s, sh, algorithm::convolution_winograd, tag::any, rounds, x, w, dy);
        double reo = reorderMs(eng, s, sh, wino.src, rounds);
        double worst = 0, l2[3];
        for (int k = 0; k < 3; k++) {
            double err = 0, norm = 0, emax = 0, vmax = 0;
            for (size_t i = 0; i < direct.out[k].size(); i++) {
                double d = direct.out[k][i] - wino.out[k][i];
                err += d * d; norm += double(direct.out[k][i]) * direct.out[k][i];
                emax = std::max(emax, std::fabs(d)); vmax = std::max(vmax, std::fabs(double(direct.out[k][i])));
            }
            worst = std::max(worst, emax / vmax);
            l2[k] = std::sqrt(err / norm);
        }
        std::printf("| %d -> %d, %dx%d, batch %d | %.2f / %.2f / %.2f (%s) | %.2f / %.2f / %.2f (%s) | %.2f | "
                    "%.1e | %.1e, %.1e, %.1e |\n", sh.channels, sh.channels, sh.side, sh.side, sh.batch,
                    direct.ms[0], direct.ms[1], direct.ms[2], direct.impl.c_str(), wino.ms[0], wino.ms[1],
                    wino.ms[2], wino.impl.c_str(), reo, worst, l2[0], l2[1], l2[2]);
    }
}
