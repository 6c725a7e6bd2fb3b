/// Fully connected layer: y = x·Wᵀ + b with x [N, in], W [out, in], b [out], y [N, out] (PyTorch's layout).
public enum LinearKernel {
    public static func forward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, batch: Int, inFeatures: Int, outFeatures: Int) {
        BLAS.sgemm(transA: false, transB: true, m: batch, n: outFeatures, k: inFeatures,
                   a: x, lda: inFeatures, b: weight, ldb: inFeatures, beta: 0, c: y, ldc: outFeatures)
        if let bias {
            for n in 0..<batch {
                let row = y + n * outFeatures
                for o in 0..<outFeatures { row[o] += bias[o] }
            }
        }
    }

    /// Accumulates dW += dyᵀ·x and db += Σₙ dy; writes dx = dy·W unless `dx` is nil.
    public static func backward(dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>,
                                dBias: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>,
                                x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                batch: Int, inFeatures: Int, outFeatures: Int) {
        BLAS.sgemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: batch,
                   a: dy, lda: outFeatures, b: x, ldb: inFeatures, beta: 1, c: dWeight, ldc: inFeatures)
        if let dBias {
            for n in 0..<batch {
                let row = dy + n * outFeatures
                for o in 0..<outFeatures { dBias[o] += row[o] }
            }
        }
        if let dx {
            BLAS.sgemm(transA: false, transB: false, m: batch, n: inFeatures, k: outFeatures,
                       a: dy, lda: outFeatures, b: weight, ldb: inFeatures, beta: 0, c: dx, ldc: inFeatures)
        }
    }
}
