extension Reference {
    /// The windows of `x` `[n, h, w, c]` as vectors `[n, oh, ow, kh·kw·c]` (`shape`): each
    /// window's cells in `(row, column, channel)` order, cells outside the image `padValue`.
    package static func patches(_ x: Tensor, window: PatchWindow, padValue: Float, shape: [Int]) -> Tensor {
        let input = x.scalars
        let (h, w, c) = (x.shape[1], x.shape[2], x.shape[3])
        var out = [Float]()
        out.reserveCapacity(Indexing.count(shape))
        forEachCell(window, batch: shape[0], windows: (shape[1], shape[2]), image: (h, w)) { source in
            if let source {
                out.append(contentsOf: input[(source * c)..<(source * c + c)])
            } else {
                out.append(contentsOf: repeatElement(padValue, count: c))
            }
        }
        return Tensor(validShape: shape, storage: .float32(out))
    }

    /// The adjoint of ``patches(_:window:padValue:shape:)``: `x` `[n, oh, ow, kh·kw·c]` summed
    /// into images `[n, h, w, c]` (`shape`), in the order of `x`'s elements.
    package static func foldPatches(_ x: Tensor, window: PatchWindow, shape: [Int]) -> Tensor {
        let input = x.scalars
        let c = shape[3]
        var out = [Float](repeating: 0, count: Indexing.count(shape))
        var next = 0
        forEachCell(window, batch: shape[0], windows: (x.shape[1], x.shape[2]), image: (shape[1], shape[2])) { source in
            if let source {
                for k in 0..<c { out[source * c + k] += input[next + k] }
            }
            next += c
        }
        return Tensor(validShape: shape, storage: .float32(out))
    }

    /// Calls `body` for every cell of every window, in the order of the window vectors, with
    /// the cell's pixel index `(b·h + row)·w + column`, or `nil` for a cell of the padding.
    private static func forEachCell(_ window: PatchWindow, batch: Int, windows: (Int, Int), image: (Int, Int),
                                    _ body: (Int?) -> Void) {
        let (h, w) = image
        for b in 0..<batch {
            for oy in 0..<windows.0 {
                for ox in 0..<windows.1 {
                    for ky in 0..<window.size[0] {
                        let row = window.position(0, window: oy, cell: ky)
                        for kx in 0..<window.size[1] {
                            let column = window.position(1, window: ox, cell: kx)
                            let inside = row >= 0 && row < h && column >= 0 && column < w
                            body(inside ? (b * h + row) * w + column : nil)
                        }
                    }
                }
            }
        }
    }
}
