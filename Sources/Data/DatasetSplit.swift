/// The two splits every reader knows (image folders read `val/` or `test/` for `test`).
public enum DatasetSplit: String, Sendable { case train, test }
