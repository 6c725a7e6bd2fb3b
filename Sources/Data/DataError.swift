/// A problem with a dataset on disk, phrased for the user: which file, what was expected, how to fix it.
public enum DataError: Error, CustomStringConvertible, Equatable {
    case missing(path: String, hint: String)
    case unreadable(path: String, reason: String)
    case badMagic(path: String, found: UInt32, expected: String)
    case truncated(path: String, expectedBytes: Int, gotBytes: Int)
    case inconsistent(path: String, reason: String)
    /// One sample cannot be used (an undecodable or non-image file); the loader's bad-sample policy decides
    /// whether this stops the run or is counted and skipped.
    case badSample(path: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let p, let hint): return "\(p): not found. \(hint)"
        case .unreadable(let p, let r): return "\(p): cannot be read (\(r))"
        case .badMagic(let p, let found, let expected):
            return "\(p): not an IDX file of the expected kind: magic number 0x\(String(found, radix: 16)), expected \(expected)"
        case .truncated(let p, let e, let g):
            return "\(p): truncated: the header promises \(e) bytes of data, the file holds \(g)"
        case .inconsistent(let p, let r): return "\(p): \(r)"
        case .badSample(let p, let r): return "\(p): \(r)"
        }
    }
}
