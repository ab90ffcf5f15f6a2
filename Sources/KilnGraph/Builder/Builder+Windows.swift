/// How a convolution or pooling window meets the image's edges, as Keras' `padding`.
public enum Padding: String, Sendable, CaseIterable {
    /// Only windows that fit inside the image: `oh = (h - span) / stride + 1`.
    case valid
    /// The image padded so that `oh = ceil(h / stride)`; Keras puts the extra row or column,
    /// when the padding is odd, after the image (bottom and right).
    case same
    /// Padding before the input only, a window's span less one, so that output `t` sees
    /// inputs up to `t` and no later (Keras' `Conv1D` on sequences).
    case causal
}

extension PatchWindow {
    /// Keras' windows of `size` cells with `stride` and `dilation`, padded as `padding` says,
    /// over an image of `imageSize` (`[h, w]`).
    public init(size: [Int], stride: [Int], dilation: [Int] = [1, 1], padding: Padding, imageSize: [Int]) {
        self.init(size: size, stride: stride, dilation: dilation)
        guard padding != .valid, imageSize.count == 2, stride.count == 2, size.count == 2, dilation.count == 2,
              stride.allSatisfy({ $0 >= 1 }) else { return }
        if padding == .causal {
            padLow = [span(0) - 1, span(1) - 1]
            return
        }
        for axis in 0..<2 {
            let windows = (imageSize[axis] + stride[axis] - 1) / stride[axis]
            let total = Swift.max((windows - 1) * stride[axis] + span(axis) - imageSize[axis], 0)
            padLow[axis] = total / 2
            padHigh[axis] = total - total / 2
        }
    }
}

/// The windows of images `x` `[n, h, w, c]` as vectors `[n, oh, ow, kh·kw·c]`, each window's
/// cells in `(row, column, channel)` order, cells of the padding `padValue` (im2col).
///
/// - Throws: ``KilnError`` if `x` is not `f32` images with static `h, w, c`, or the window
///   does not fit the padded image.
public func patches(_ x: Node, window: PatchWindow, padValue: Float = 0) throws -> Node {
    try x.graph.append(.patches(window, padValue: padValue), [x])
}

/// Window vectors `x` `[n, oh, ow, kh·kw·c]` summed back into images `[n, h, w, c]`
/// (`imageSize` is `[h, w]`): the adjoint of ``patches(_:window:padValue:)``, and the core of
/// a transposed convolution.
///
/// - Throws: ``KilnError`` if the window gives other than `oh × ow` windows over `imageSize`.
public func foldPatches(_ x: Node, window: PatchWindow, imageSize: [Int]) throws -> Node {
    try x.graph.append(.foldPatches(window, imageSize: imageSize), [x])
}

/// 2-D convolution of images `x` `[n, h, w, in]` with `filter` `[kh, kw, in, out]` (Keras'
/// layout): `[n, oh, ow, out]`. One matrix product of the window vectors with the filter.
///
/// - Throws: ``KilnError`` if `x` is not rank-4 images, the channels differ, or the window
///   does not fit the (padded) image.
public func conv2d(_ x: Node, _ filter: Node, stride: [Int] = [1, 1], padding: Padding = .valid,
                   dilation: [Int] = [1, 1]) throws -> Node {
    let (h, w, c) = try imageSizes(x, "conv2d")
    guard filter.shape.rank == 4, let kh = filter.shape[0].staticSize, let kw = filter.shape[1].staticSize,
          let cin = filter.shape[2].staticSize, filter.shape[3].staticSize != nil else {
        throw KilnError(.shapeMismatch, "conv2d \(x.id): the filter must be [kh, kw, in, out] with static sizes, got \(filter.type)")
    }
    guard cin == c else {
        throw KilnError(.shapeMismatch, "conv2d \(x.id): the filter \(filter.type) takes \(cin) channels, the images \(x.type) have \(c)")
    }
    return try conv2d(x, filter, window: PatchWindow(size: [kh, kw], stride: stride, dilation: dilation, padding: padding,
                                                     imageSize: [h, w]))
}

/// 2-D convolution of images `x` `[n, h, w, in]` with `filter` `[kh, kw, in, out]` over the
/// windows `window` says (its size must be the filter's): `[n, oh, ow, out]`.
///
/// - Throws: ``KilnError`` if the shapes do not fit one another or the window.
public func conv2d(_ x: Node, _ filter: Node, window: PatchWindow) throws -> Node {
    let (_, _, c) = try imageSizes(x, "conv2d")
    guard filter.shape.rank == 4, filter.shape[0].staticSize == window.size.first, filter.shape[1].staticSize == window.size.last,
          filter.shape[2].staticSize == c, let cout = filter.shape[3].staticSize else {
        throw KilnError(.shapeMismatch, "conv2d \(x.id): the filter \(filter.type) is not [\(window.size.map(String.init).joined(separator: ", ")), "
                        + "\(c), out] for the images \(x.type)")
    }
    let windows = try naming("conv2d", x) { try patches(x, window: window) }
    let (oh, ow) = (windows.shape[1].staticSize ?? 0, windows.shape[2].staticSize ?? 0)
    let rows = try reshape(windows, to: Shape([x.shape[0], .size(oh * ow), .size(window.cells * c)]))
    let product = try matmul(rows, try reshape(filter, to: Shape([.size(window.cells * c), .size(cout)])))
    return try reshape(product, to: Shape([x.shape[0], .size(oh), .size(ow), .size(cout)]))
}

/// The transposed 2-D convolution of images `x` `[n, h, w, in]` with `filter` `[kh, kw, out,
/// in]` (Keras' `Conv2DTranspose` layout): the gradient of a convolution with respect to its
/// input, `[n, imageSize[0], imageSize[1], out]`, where `window` is the forward convolution's
/// over an image of `imageSize` (it must give `h × w` windows).
///
/// - Throws: ``KilnError`` if the shapes do not fit one another or the window.
public func conv2dTranspose(_ x: Node, _ filter: Node, window: PatchWindow, imageSize: [Int]) throws -> Node {
    let (h, w, c) = try imageSizes(x, "conv2d_transpose")
    guard filter.shape.rank == 4, filter.shape[0].staticSize == window.size.first, filter.shape[1].staticSize == window.size.last,
          filter.shape[3].staticSize == c, let cout = filter.shape[2].staticSize else {
        throw KilnError(.shapeMismatch, "conv2d_transpose \(x.id): the filter \(filter.type) is not "
                        + "[\(window.size.map(String.init).joined(separator: ", ")), out, \(c)] for the images \(x.type)")
    }
    let rows = try reshape(x, to: Shape([x.shape[0], .size(h * w), .size(c)]))
    let cells = try matmul(rows, try reshape(filter, to: Shape([.size(window.cells * cout), .size(c)])), transposeB: true)
    let windows = try reshape(cells, to: Shape([x.shape[0], .size(h), .size(w), .size(window.cells * cout)]))
    return try naming("conv2d_transpose", x) { try foldPatches(windows, window: window, imageSize: imageSize) }
}

/// 2-D max pooling of images `x` `[n, h, w, c]`: the largest value of each window
/// (`[n, oh, ow, c]`); cells of the padding never win.
///
/// - Throws: ``KilnError`` if `x` is not rank-4 images or the window does not fit.
public func maxPool2d(_ x: Node, size: [Int], stride: [Int], padding: Padding = .valid) throws -> Node {
    if let tiles = try tiledWindows(x, size: size, stride: stride, padding: padding) { return try max(tiles, axes: [2, 4]) }
    let cells = try poolWindows(x, size: size, stride: stride, padding: padding, padValue: -.infinity, "max_pool2d")
    return try max(cells, axes: [3])
}

/// 2-D average pooling of images `x` `[n, h, w, c]`: the mean of each window over the cells
/// inside the image (`[n, oh, ow, c]`; with `same` padding an edge window averages fewer
/// cells, as in Keras).
///
/// - Throws: ``KilnError`` if `x` is not rank-4 images or the window does not fit.
public func avgPool2d(_ x: Node, size: [Int], stride: [Int], padding: Padding = .valid) throws -> Node {
    if let tiles = try tiledWindows(x, size: size, stride: stride, padding: padding) { return try mean(tiles, axes: [2, 4]) }
    let cells = try poolWindows(x, size: size, stride: stride, padding: padding, padValue: 0, "avg_pool2d")
    let total = try sum(cells, axes: [3])
    let (h, w, _) = try imageSizes(x, "avg_pool2d")
    let window = PatchWindow(size: size, stride: stride, padding: padding, imageSize: [h, w])
    let (oh, ow) = (cells.shape[1].staticSize ?? 0, cells.shape[2].staticSize ?? 0)
    var counts: [Float] = []
    for oy in 0..<oh {
        for ox in 0..<ow {
            counts.append(Float(cellsInside(window, 0, oy, h) * cellsInside(window, 1, ox, w)))
        }
    }
    if counts.allSatisfy({ $0 == counts.first }) { return try total / x.graph.constant(counts.first ?? 1) }
    return try total / x.graph.constant(try Tensor(shape: [1, oh, ow, 1], scalars: counts))
}

/// Windows that tile the image (as large as their stride, and no padding: `valid`, or `same`
/// on an image they divide) are the image itself, cut to whole windows (``cropped(_:rows:cols:)``) and reshaped to
/// `[n, oh, kh, ow, kw, c]`, so pooling is a reduction over axes 2 and 4 without copying the
/// windows out; `nil` for other windows.
private func tiledWindows(_ x: Node, size: [Int], stride: [Int], padding: Padding) throws -> Node? {
    let (h, w, c) = try imageSizes(x, "pooling")
    guard size.count == 2, size == stride, size.allSatisfy({ $0 >= 1 }), h >= size[0], w >= size[1] else { return nil }
    let (oh, ow) = (h / size[0], w / size[1])
    if padding == .same && (oh * size[0] != h || ow * size[1] != w) { return nil }
    let whole = try cropped(x, rows: oh * size[0], cols: ow * size[1])
    return try reshape(whole, to: Shape([x.shape[0], .size(oh), .size(size[0]), .size(ow), .size(size[1]), .size(c)]))
}

/// The pooling windows of `x` as `[n, oh, ow, kh·kw, c]`.
private func poolWindows(_ x: Node, size: [Int], stride: [Int], padding: Padding, padValue: Float,
                         _ op: String) throws -> Node {
    let (h, w, c) = try imageSizes(x, op)
    let window = PatchWindow(size: size, stride: stride, padding: padding, imageSize: [h, w])
    let windows = try naming(op, x) { try patches(x, window: window, padValue: padValue) }
    return try reshape(windows, to: Shape([x.shape[0], windows.shape[1], windows.shape[2], .size(window.cells), .size(c)]))
}

/// `body`'s result, or its error said of `op` on `x`.
private func naming<R>(_ op: String, _ x: Node, _ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let error as KilnError {
        throw KilnError(error.kind, "\(op) \(x.id): " + error.message)
    }
}

/// The cells of window `o` along `axis` that fall inside an image `length` cells long.
private func cellsInside(_ window: PatchWindow, _ axis: Int, _ o: Int, _ length: Int) -> Int {
    (0..<window.size[axis]).filter { (0..<length).contains(window.position(axis, window: o, cell: $0)) }.count
}

/// `h, w, c` of rank-4 images with static sizes.
private func imageSizes(_ x: Node, _ op: String) throws -> (Int, Int, Int) {
    guard x.shape.rank == 4, let h = x.shape[1].staticSize, let w = x.shape[2].staticSize, let c = x.shape[3].staticSize else {
        throw KilnError(.shapeMismatch, "\(op) \(x.id): needs images [n, height, width, channels] with static sizes, got \(x.type)")
    }
    return (h, w, c)
}
