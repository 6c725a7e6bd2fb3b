/// The Pareto front of points where a smaller x (cost) and a larger y (accuracy) are better.
public enum Pareto {
    /// Indices of the points no other point dominates (another point with x ≤ and y ≥, one of them strictly),
    /// ordered by increasing x. Non-finite points are ignored; of identical points the first is kept.
    public static func front(_ points: [(x: Double, y: Double)]) -> [Int] {
        let order = points.indices.filter { points[$0].x.isFinite && points[$0].y.isFinite }
            .sorted { points[$0].x != points[$1].x ? points[$0].x < points[$1].x : points[$0].y > points[$1].y }
        var out: [Int] = [], best = -Double.infinity
        for i in order where points[i].y > best {
            out.append(i); best = points[i].y
        }
        return out
    }
}
