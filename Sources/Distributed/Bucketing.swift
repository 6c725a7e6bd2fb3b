/// Assignment of parameters to gradient buckets, as a pure function (PyTorch DDP's
/// `compute_bucket_assignment_by_size`, with its smaller first bucket).
public enum Bucketing {
    /// The default bucket cap: 4 MiB (PyTorch DDP uses 25; smaller buckets start communicating earlier in
    /// backward, which hides a 1 Gbit/s link completely for ResNet-18, docs/distributed.md "Scaling").
    public static let defaultCapBytes = 4 << 20
    /// The default cap of the first bucket (the last layers' gradients, ready first): 1 MiB, PyTorch DDP's
    /// `_DEFAULT_FIRST_BUCKET_BYTES`, so that communication starts early in backward.
    public static let defaultFirstCapBytes = 1 << 20

    /// Buckets over parameters given by element counts in registration (forward) order. Buckets are filled in
    /// reverse order — the order backward produces gradients — and a bucket closes once it holds at least its cap:
    /// `firstCapBytes` for the first (nil: `capBytes`), `capBytes` after. Returns parameter index ranges, first
    /// bucket first (it holds the last parameters).
    public static func assign(sizes: [Int], capBytes: Int, firstCapBytes: Int? = nil,
                              bytesPerElement: Int = 4) -> [Range<Int>] {
        precondition(capBytes > 0 && (firstCapBytes ?? 1) > 0, "bucket caps must be positive")
        var buckets: [Range<Int>] = []
        var end = sizes.count, bytes = 0
        for i in stride(from: sizes.count - 1, through: 0, by: -1) {
            bytes += sizes[i] * bytesPerElement
            if bytes >= (buckets.isEmpty ? firstCapBytes ?? capBytes : capBytes) {
                buckets.append(i..<end)
                end = i
                bytes = 0
            }
        }
        if end > 0 { buckets.append(0..<end) }
        return buckets
    }
}
