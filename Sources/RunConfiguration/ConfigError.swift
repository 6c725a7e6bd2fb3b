/// A configuration value that cannot be used, named by its key.
public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case invalid(key: String, value: String, expected: String)
    /// The data the config points at cannot be used (missing, corrupt, inconsistent); names the file.
    case data(file: String, message: String)

    public var description: String {
        switch self {
        case .invalid(let key, let value, let expected): return "\(key): '\(value)' is not valid; expected \(expected)"
        case .data(let file, let message): return "\(file): data: \(message)"
        }
    }

    /// The message with the config file in front (`.data` names its file already).
    public func located(in file: String) -> String {
        if case .data = self { return description }
        return "\(file): \(description)"
    }
}
