import Models
import TensorEngine

/// Folds evaluation-mode batch norm into the convolution before it, on an export (graph + tensors).
///
/// A batch norm N directly after a convolution L is one affine map per output channel of L's output,
/// y = L(x)·s + t with s = γ/√(var + ε) and t = β − mean·s (`BatchNormKernel.inferenceAffine`, the float32
/// operations the engine's evaluation forward runs). The fold stores them as L's `out_scale` = s and
/// `out_bias` = t and removes N: B, α, β (what a crossbar stores) and L's own bias stay as trained, the folded map
/// is the per-channel scale and offset a CIM periphery applies to the column outputs, and the PyTorch loader
/// reproduces the engine's evaluation bit for bit on binarized layers (FP32 weights may take s as usual:
/// weight·s, bias·s + t). N's fused ReLU becomes a `relu` node after L. A batch norm whose input is not a
/// convolution's output (after pooling, a residual sum or an activation) is not folded and stays a
/// `batchnorm2d` node; none of the zoo's networks has one.
public enum BatchNormFold {
    public static func apply(_ graph: [GraphNode], tensors: inout [String: SafeTensors.Tensor]) -> [GraphNode] {
        var out: [GraphNode] = []
        var i = 0
        while i < graph.count {
            var node = graph[i]
            node.body = node.body.map { apply($0, tensors: &tensors) }
            if let body = node.shortcut?.body { node.shortcut?.body = apply(body, tensors: &tensors) }
            if node.op == "conv2d", i + 1 < graph.count, graph[i + 1].op == "batchnorm2d",
               let conv = node.name, let bn = graph[i + 1].name,
               fold(conv: conv, batchNorm: bn, eps: graph[i + 1].eps ?? 1e-5, tensors: &tensors) {
                node.foldedBatchNorm = true
                out.append(node)
                if graph[i + 1].relu ?? false { out.append(GraphNode(op: "relu")) }
                i += 2
                continue
            }
            out.append(node)
            i += 1
        }
        return out
    }

    /// Rewrites conv's tensors and removes the batch norm's; false (nothing changed) when a tensor is missing.
    static func fold(conv: String, batchNorm bn: String, eps: Float,
                     tensors: inout [String: SafeTensors.Tensor]) -> Bool {
        guard let gamma = tensors["\(bn).weight"]?.floats, let beta = tensors["\(bn).bias"]?.floats,
              let mean = tensors["\(bn).running_mean"]?.floats, let variance = tensors["\(bn).running_var"]?.floats
        else { return false }
        let affine = gamma.indices.map {
            BatchNormKernel.inferenceAffine(gamma[$0], beta[$0], mean[$0], variance[$0], eps)
        }
        guard tensors["\(conv).B"] != nil || tensors["\(conv).weight"]?.shape.first == gamma.count else { return false }
        tensors["\(conv).out_scale"] = .init(affine.map(\.scale), shape: [gamma.count])
        tensors["\(conv).out_bias"] = .init(affine.map(\.shift), shape: [gamma.count])
        for suffix in ["weight", "bias", "running_mean", "running_var"] { tensors["\(bn).\(suffix)"] = nil }
        return true
    }
}
