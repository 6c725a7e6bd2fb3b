import TensorEngine

extension ImageDataset: SampleSource {
    public func label(_ i: Int) -> Int32 { labels[i] }

    public func outputShape(_ a: Augmentation) throws -> [Int] {
        a.outputShape(channels: channels, height: height, width: width)
    }

    public func render(_ i: Int, augmentation: Augmentation, rng: inout RNG, into out: UnsafeMutablePointer<UInt8>,
                       scratch: RenderScratch) throws {
        let src = sample(i)
        switch augmentation {
        case .none:
            out.update(from: src, count: sampleSize)
        case .cropFlip(let pad, let flip):
            // torchvision RandomCrop(size, padding): offsets uniform in 0...2·pad, zero fill outside the image.
            let dy = rng.below(2 * pad + 1) - pad, dx = rng.below(2 * pad + 1) - pad
            let f = flip && rng.uniform() < 0.5
            let h = height, w = width
            for c in 0..<channels {
                let plane = src + c * h * w, dst = out + c * h * w
                for y in 0..<h {
                    let sy = y + dy, row = dst + y * w
                    guard sy >= 0 && sy < h else { row.update(repeating: 0, count: w); continue }
                    for x in 0..<w {
                        let sx = x + dx
                        row[f ? w - 1 - x : x] = sx >= 0 && sx < w ? plane[sy * w + sx] : 0
                    }
                }
            }
        case .randomResizedCrop, .resizeCenterCrop:
            let plan = SamplePlan.draw(augmentation, width: width, height: height, rng: &rng)!
            let view = ImageView.chw(src, channels: channels, height: height, width: width)
            plan.render(view, clipAtX: plan.clip.x, y: plan.clip.y, into: out, scratch: scratch.resampler)
        }
    }
}
