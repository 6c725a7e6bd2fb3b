/// A configuration value that cannot be used, named by its key.
public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case invalid(key: String, value: String, expected: String)
    /// The data the config points at cannot be used (missing, corrupt, inconsistent); names the file.
    case data(file: String, message: String)
    /// This rank resolved another configuration than some other rank (`ConfigConsensus`).
    case differsBetweenRanks(rank: Int, fingerprint: UInt64)

    public var description: String {
        switch self {
        case .invalid(let key, let value, let expected): return "\(key): '\(value)' is not valid; expected \(expected)"
        case .data(let file, let message): return "\(file): data: \(message)"
        case .differsBetweenRanks(let rank, let fingerprint):
            return "rank \(rank): the resolved configuration differs between ranks (fingerprint "
                + "\(String(fingerprint, radix: 16))); launch every rank with the same config file and --set overrides"
        }
    }

    /// The message with the config file in front (`.data` names its file already, a rank mismatch has no one file).
    public func located(in file: String) -> String {
        guard case .invalid = self else { return description }
        return "\(file): \(description)"
    }
}
