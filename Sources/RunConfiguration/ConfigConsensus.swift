import Distributed
import Foundation
import Yams

/// Every rank of a job must run the same resolved configuration (same files, same `--set` overrides); a rank that
/// resolved something else would silently train a different model. Ranks compare a 64-bit FNV-1a hash of their
/// resolved YAML.
public enum ConfigConsensus {
    public static func fingerprint(_ config: RunConfig) throws -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in try YAMLEncoder().encode(config).utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    /// Throws on every rank when any two ranks' configurations differ.
    public static func check(_ config: RunConfig, _ comm: Communicator) throws {
        guard comm.size > 1 else { return }
        let h = Int64(bitPattern: try fingerprint(config))
        var v = [h, ~h]  // max(h) and max(~h) = ~min(h)
        try comm.allreduce(&v, .max)
        if v[0] != ~v[1] {
            throw ConfigError.differsBetweenRanks(rank: comm.rank, fingerprint: UInt64(bitPattern: h))
        }
    }
}
