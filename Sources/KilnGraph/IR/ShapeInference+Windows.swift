extension Infer {
    /// `[n, h, w, c]` → `[n, oh, ow, kh·kw·c]`.
    static func patches(_ x: TensorType, window: PatchWindow) throws -> TensorType {
        try requireFloat(x)
        let (n, h, w, c) = try image(x, "patches")
        try check(window)
        let oh = window.count(0, length: h), ow = window.count(1, length: w)
        guard oh >= 1, ow >= 1 else {
            throw KilnError(.shapeMismatch,
                            "patches of \(x): a window spanning \(window.span(0))×\(window.span(1)) cells does not fit the "
                            + "\(h)×\(w) image padded by \(window.padLow[0])+\(window.padHigh[0]) rows and "
                            + "\(window.padLow[1])+\(window.padHigh[1]) columns")
        }
        let (length, overflow) = window.cells.multipliedReportingOverflow(by: c)
        guard !overflow else { throw KilnError(.shapeMismatch, "patches of \(x): the window vectors overflow") }
        return TensorType(.float32, Shape([n, .size(oh), .size(ow), .size(length)]))
    }

    /// `[n, oh, ow, kh·kw·c]` → `[n, imageSize[0], imageSize[1], c]`.
    static func foldPatches(_ x: TensorType, window: PatchWindow, imageSize: [Int]) throws -> TensorType {
        try requireFloat(x)
        let (n, oh, ow, length) = try image(x, "fold_patches")
        try check(window)
        guard imageSize.count == 2, imageSize.allSatisfy({ $0 >= 1 }) else {
            throw KilnError(.invalidArgument, "fold_patches needs an image size of two positive lengths, got \(imageSize)")
        }
        guard length % window.cells == 0 else {
            throw KilnError(.shapeMismatch, "fold_patches of \(x): \(length) is not a multiple of the \(window.cells) cells of a window")
        }
        let expected = (window.count(0, length: imageSize[0]), window.count(1, length: imageSize[1]))
        guard expected == (oh, ow) else {
            throw KilnError(.shapeMismatch,
                            "fold_patches of \(x): a \(imageSize[0])×\(imageSize[1]) image has \(expected.0)×\(expected.1) windows, "
                            + "not \(oh)×\(ow)")
        }
        return TensorType(.float32, Shape([n, .size(imageSize[0]), .size(imageSize[1]), .size(length / window.cells)]))
    }

    /// The batch dimension and the three static sizes of a rank-4 NHWC operand.
    private static func image(_ x: TensorType, _ op: String) throws -> (Dim, Int, Int, Int) {
        guard x.shape.rank == 4, case .size(let h) = x.shape[1], case .size(let w) = x.shape[2],
              case .size(let c) = x.shape[3] else {
            throw KilnError(.shapeMismatch, "\(op) needs images [n, height, width, channels] with static sizes, got \(x)")
        }
        return (x.shape[0], h, w, c)
    }

    /// Two positive sizes, strides and dilations, and padding of at least 0 and less than a window's span.
    private static func check(_ window: PatchWindow) throws {
        let lists = [("size", window.size, 1), ("stride", window.stride, 1), ("dilation", window.dilation, 1),
                     ("pad_low", window.padLow, 0), ("pad_high", window.padHigh, 0)]
        for (name, values, least) in lists where values.count != 2 || values.contains(where: { $0 < least }) {
            throw KilnError(.invalidArgument, "a window's \(name) needs two values of at least \(least), got \(values)")
        }
        for axis in 0..<2 where window.padLow[axis] >= window.span(axis) || window.padHigh[axis] >= window.span(axis) {
            throw KilnError(.invalidArgument,
                            "padding \(window.padLow[axis])+\(window.padHigh[axis]) along axis \(axis + 1) must be less than "
                            + "the window's span of \(window.span(axis)) cells")
        }
    }
}
