import TensorEngine

/// The first `count` samples of another source (`data.limit_train` / `limit_test` smoke runs).
public struct SampleSubset: SampleSource {
    public let base: SampleSource
    public let count: Int

    public init(_ base: SampleSource, first n: Int) {
        self.base = base
        count = Swift.min(Swift.max(n, 0), base.count)
    }

    public var name: String { base.name }
    public var numClasses: Int { base.numClasses }
    public var channels: Int { base.channels }
    public var classNames: [String] { base.classNames }
    public func label(_ i: Int) -> Int32 { base.label(i) }
    public func outputShape(_ a: Augmentation) throws -> [Int] { try base.outputShape(a) }
    public func render(_ i: Int, augmentation: Augmentation, rng: inout RNG, into out: UnsafeMutablePointer<UInt8>,
                       scratch: RenderScratch) throws {
        precondition(i < count)
        try base.render(i, augmentation: augmentation, rng: &rng, into: out, scratch: scratch)
    }
}
