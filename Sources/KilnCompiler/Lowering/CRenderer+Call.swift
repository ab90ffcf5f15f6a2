import KilnGraph

extension CRenderer {
    /// A kernel of one op that calls a runtime kernel of Kernels/ (GEMM, data movement,
    /// indexing, argmax, softmax).
    ///
    /// - Throws: ``KilnError`` for a node no call kernel computes (an internal error).
    func renderCallKernel(_ kernel: KernelSpec) throws -> String {
        let id = kernel.members[0]
        if let pooled = schedule.function.pooledGradients[id] { return try renderPooledFilterGradient(id, pooled) }
        if kernel.members.count == 2, schedule.function.foldedProduct(readBy: kernel.members[1]) == id {
            return try renderFoldedProduct(id, fold: kernel.members[1])
        }
        switch nodes[id.index].op {
        case .matmul:
            return renderMatmul(id)
        case .transpose, .slice, .pad, .patches, .foldPatches, .concatenate:
            return try renderLayout(id)
        case .gather, .scatterAdd, .oneHot, .argmax:
            return try renderIndexing(id)
        case .extremumGradient(let axes):
            return try renderExtremumGradient(id, axes: axes)
        case .softmax(let axis), .logSoftmax(let axis):
            let node = nodes[id.index]
            let log: Int
            if case .logSoftmax = node.op { log = 1 } else { log = 0 }
            let x = schedule.pointer(schedule.function.aliasRoot(node.inputs[0]))
            return "    kiln_softmax(\(split(nodes[node.inputs[0].index].type.shape, axis)), \(x), \(schedule.pointer(id)), \(log));\n"
        case .placeholder, .variable, .constant, .elementCount, .unary, .binary, .compare, .select, .cast,
             .reduce, .reshape, .broadcast, .stopGradient, .assign, .randomUniform, .scan, .scanResult:
            // Leaves and aliases have no kernel, loop ops get loop kernels, and scans theirs (CRenderer+Scan).
            throw unhandled(id, "has no call kernel")
        }
    }

    /// The gradient of an extremum as one `kiln_extremum_gradient` call: each group of cells
    /// reduced together is read while it is in the cache, to count its ties and to write the
    /// shares (with the mask, when the op has one).
    ///
    /// Neighbouring axes of the same kind (reduced or kept) are passed as one.
    ///
    /// - Throws: ``KilnError`` for more alternations of reduced and kept axes than the
    ///   runtime kernel takes.
    private func renderExtremumGradient(_ id: NodeID, axes: [Int]) throws -> String {
        let node = nodes[id.index], shape = node.type.shape
        var merged: [(dims: [Dim], reduced: Bool)] = []
        for (axis, dim) in shape.dims.enumerated() {
            let reduced = axes.contains(axis)
            if let last = merged.last, last.reduced == reduced {
                merged[merged.count - 1].dims.append(dim)
            } else {
                merged.append(([dim], reduced))
            }
        }
        if merged.isEmpty { merged = [([], false)] }  // a scalar: one element
        guard merged.count <= Self.reductionRankLimit else {
            throw KilnError(.invalidGraph, "\(Printer.line(node, id: id)): the JIT computes extremum_gradient over at most "
                            + "\(Self.reductionRankLimit) runs of reduced and kept axes, not \(merged.count)")
        }
        let operands = node.inputs.map { schedule.pointer(schedule.function.aliasRoot($0)) }
        return "    const int64_t shape[\(merged.count)] = {\(merged.map { CSyntax.product($0.dims) }.joined(separator: ", "))};\n"
            + "    const uint8_t reduced[\(merged.count)] = {\(merged.map { $0.reduced ? "1" : "0" }.joined(separator: ", "))};\n"
            + "    kiln_extremum_gradient(\(merged.count), shape, reduced, \(operands[0]), \(operands[1]), \(operands[2]), "
            + "\(operands.count > 3 ? "(const uint8_t *)" + operands[3] : "(const uint8_t *)0"), \(schedule.pointer(id)));\n"
    }

    /// `outer, length, inner` of `shape` split at `axis`, as C arguments.
    private func split(_ shape: Shape, _ axis: Int) -> String {
        [CSyntax.product(shape.dims[..<axis]), CSyntax.dim(shape[axis]), CSyntax.product(shape.dims[(axis + 1)...])]
            .joined(separator: ", ")
    }

    /// A data-movement kernel: transpose, slice, pad, window vectors and their sum back into
    /// images, or the parts of a concatenation.
    private func renderLayout(_ id: NodeID) throws -> String {
        let node = nodes[id.index]
        let y = schedule.pointer(id)
        let inputs = node.inputs.map { schedule.pointer(schedule.function.aliasRoot($0)) }
        let inputShapes = node.inputs.map { nodes[$0.index].type.shape }
        let elementSize = node.type.dtype.byteSize
        func array(_ name: String, _ values: [String]) -> String {
            "    const int64_t \(name)[\(max(values.count, 1))] = {\(values.isEmpty ? "0" : values.joined(separator: ", "))};\n"
        }
        func dims(_ shape: Shape) -> [String] { shape.dims.map(CSyntax.dim) }
        switch node.op {
        case .transpose(let permutation):
            return array("shape", dims(inputShapes[0])) + array("perm", permutation.map(String.init))
                + "    kiln_transpose(\(elementSize), \(permutation.count), shape, perm, \(inputs[0]), \(y));\n"
        case .slice(let starts, _):
            return array("in_shape", dims(inputShapes[0])) + array("starts", starts.map(String.init))
                + array("out_shape", dims(node.type.shape))
                + "    kiln_slice(\(elementSize), \(starts.count), in_shape, starts, out_shape, \(inputs[0]), \(y));\n"
        case .pad(let low, _):
            return array("in_shape", dims(inputShapes[0])) + array("low", low.map(String.init))
                + array("out_shape", dims(node.type.shape))
                + "    kiln_pad(\(elementSize), \(low.count), in_shape, low, out_shape, \(inputs[0]), \(y));\n"
        case .patches(let window, let padValue):
            return "    kiln_patches(\(windowArguments(window, image: inputShapes[0], windows: node.type.shape)), "
                + "\(CSyntax.floatLiteral(padValue)), \(inputs[0]), \(y));\n"
        case .foldPatches(let window, _):
            return "    kiln_fold_patches(\(windowArguments(window, image: node.type.shape, windows: inputShapes[0])), "
                + "\(inputs[0]), \(y));\n"
        case .concatenate(let axis):
            let shape = node.type.shape
            let outer = CSyntax.product(shape.dims[..<axis]), total = CSyntax.product(shape.dims[axis...])
            var out = "", offset: [String] = []
            for (input, inputShape) in zip(inputs, inputShapes) {
                let part = CSyntax.product(inputShape.dims[axis...])
                let at = offset.isEmpty ? "0" : offset.joined(separator: " + ")
                out += "    kiln_concat_part(\(elementSize), \(outer), \(part), \(total), \(at), \(input), \(y));\n"
                offset.append(part)
            }
            return out
        case .placeholder, .variable, .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reduce,
             .argmax, .reshape, .broadcast, .gather, .scatterAdd, .oneHot, .matmul, .extremumGradient, .softmax, .logSoftmax,
             .randomUniform, .stopGradient, .assign, .scan, .scanResult:
            throw unhandled(id, "is not a layout op")
        }
    }

    /// A convolution's input gradient as one `kiln_gemm_fold_windows` call: the product
    /// `dz · bᵀ` folded into the images tile by tile (``FuseProductIntoFold``), the product's
    /// memory the call's scratch.
    ///
    /// - Throws: ``KilnError`` if `fold` is not a `fold_patches` (a fusion bug).
    private func renderFoldedProduct(_ product: NodeID, fold: NodeID) throws -> String {
        guard case .foldPatches(let window, _) = nodes[fold.index].op else { throw unhandled(fold, "folds no product") }
        let function = schedule.function, matmul = nodes[product.index]
        let dz = schedule.pointer(function.aliasRoot(matmul.inputs[0])), b = schedule.pointer(function.aliasRoot(matmul.inputs[1]))
        let cols = CSyntax.dim(nodes[matmul.inputs[1].index].type.shape[1])
        let windows = nodes[nodes[fold.index].inputs[0].index].type.shape
        return "    kiln_gemm_fold_windows(\(windowArguments(window, image: nodes[fold.index].type.shape, windows: windows)), "
            + "\(cols), \(dz), \(b), \(schedule.pointer(product)), \(schedule.pointer(fold)));\n"
    }

    /// `n, h, w, c, kh, kw, sh, sw, dh, dw, top, left, oh, ow` of `kiln_patches` and
    /// `kiln_fold_patches`, for images of shape `image` and window vectors of shape `windows`.
    func windowArguments(_ window: PatchWindow, image: Shape, windows: Shape) -> String {
        ([CSyntax.dim(image[0]), CSyntax.dim(image[1]), CSyntax.dim(image[2]), CSyntax.dim(image[3])]
            + (window.size + window.stride + window.dilation + window.padLow).map(String.init)
            + [CSyntax.dim(windows[1]), CSyntax.dim(windows[2])]).joined(separator: ", ")
    }

    /// An indexing kernel, which checks its indices and returns a fault code: gather,
    /// scatter-add, one-hot, argmax.
    private func renderIndexing(_ id: NodeID) throws -> String {
        let node = nodes[id.index]
        let y = schedule.pointer(id)
        let inputs = node.inputs.map { schedule.pointer(schedule.function.aliasRoot($0)) }
        let inputShapes = node.inputs.map { nodes[$0.index].type.shape }
        switch node.op {
        case .gather(let axis):
            let count = CSyntax.product(inputShapes[1].dims)
            return "    return kiln_gather(\(node.type.dtype.byteSize), \(split(inputShapes[0], axis)), \(count), "
                + "\(inputs[0]), \(inputs[1]), \(y), fault);\n"
        case .scatterAdd(let axis, let shape):
            let count = CSyntax.product(inputShapes[1].dims)
            let suffix = node.type.dtype == .int32 ? "i32" : "f32"
            return "    return kiln_scatter_add_\(suffix)(\(split(shape, axis)), \(count), \(inputs[0]), \(inputs[1]), \(y), fault);\n"
        case .oneHot(let depth):
            return "    return kiln_one_hot(\(CSyntax.product(inputShapes[0].dims)), \(depth), \(inputs[0]), \(y), fault);\n"
        case .argmax(let axis, _):
            let suffix = nodes[node.inputs[0].index].type.dtype == .int32 ? "i32" : "f32"
            return "    return kiln_argmax_\(suffix)(\(split(inputShapes[0], axis)), \(inputs[0]), \(y), fault);\n"
        case .placeholder, .variable, .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reduce,
             .reshape, .transpose, .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .matmul, .softmax, .logSoftmax,
             .randomUniform, .stopGradient, .assign, .scan, .scanResult:
            throw unhandled(id, "is not an indexing op")
        }
    }

    /// A matmul's sizes `m, n, k` (of each matrix of the leading axes), its `kiln_gemm`
    /// arguments before its operands (`trans_a, trans_b, m, n, k`) and its operands' pointers;
    /// `nil` for another op.
    func productOperands(_ id: NodeID) -> (m: Dim, n: Dim, k: Dim, sizes: String, a: String, b: String)? {
        let node = nodes[id.index]
        guard case .matmul(let transposeA, let transposeB) = node.op else { return nil }
        let aShape = nodes[node.inputs[0].index].type.shape, shape = node.type.shape
        let m = shape[shape.rank - 2], n = shape[shape.rank - 1]
        let k = transposeA ? aShape[aShape.rank - 2] : aShape[aShape.rank - 1]
        return (m, n, k, "\(transposeA ? 1 : 0), \(transposeB ? 1 : 0), \(CSyntax.dim(m)), \(CSyntax.dim(n)), \(CSyntax.dim(k))",
                schedule.pointer(schedule.function.aliasRoot(node.inputs[0])),
                schedule.pointer(schedule.function.aliasRoot(node.inputs[1])))
    }

    /// GEMM through `kiln_gemm` (OpenBLAS), one call per matrix of the broadcast leading axes.
    func renderMatmul(_ id: NodeID) -> String {
        let node = nodes[id.index]
        guard case .matmul(let transposeA, let transposeB) = node.op, let (m, n, k, sizes, pa, pb) = productOperands(id)
        else { return "" }
        let a = node.inputs[0], b = node.inputs[1]
        let aShape = nodes[a.index].type.shape, bShape = nodes[b.index].type.shape
        let shape = node.type.shape
        let rank = shape.rank
        let pc = schedule.pointer(id)
        if !transposeA, let windows = schedule.function.imageWindows(readBy: id),
           case .patches(let window, let padValue) = nodes[windows.index].op {
            // The window rows of an image, gathered by the product itself (FuseWindowsIntoMatmul).
            let image = nodes[windows.index].inputs[0]
            return "    kiln_gemm_windows(\(windowArguments(window, image: nodes[image.index].type.shape, windows: nodes[windows.index].type.shape)), "
                + "\(CSyntax.floatLiteral(padValue)), \(schedule.pointer(schedule.function.memoryRoot(image))), \(CSyntax.dim(n)), \(pb), \(pc));\n"
        }
        if rank == 2 {
            return "    kiln_gemm(\(sizes), \(pa), \(pb), \(pc));\n"
        }
        let leading = Shape(Array(shape.dims.dropLast(2)))
        if bShape.rank == 2 && !transposeA && Shape(Array(aShape.dims.dropLast(2))) == leading {
            // One matrix b for every matrix of a, whose rows follow one another in memory (a
            // convolution's window vectors): one product of all the rows.
            let rows = CSyntax.product(leading.dims + [m])
            return "    kiln_gemm(0, \(transposeB ? 1 : 0), \(rows), \(CSyntax.dim(n)), \(CSyntax.dim(k)), \(pa), \(pb), \(pc));\n"
        }
        let aLeading = Shape(Array(aShape.dims.dropLast(2))), bLeading = Shape(Array(bShape.dims.dropLast(2)))
        let aMatrix = CSyntax.product(aShape.dims.suffix(2)), bMatrix = CSyntax.product(bShape.dims.suffix(2))
        let cMatrix = CSyntax.product(shape.dims.suffix(2))
        var out = ""
        for axis in 0..<leading.rank {
            out += String(repeating: "    ", count: axis + 1)
                + "for (int64_t i\(axis) = 0; i\(axis) < \(CSyntax.dim(leading[axis])); i\(axis)++) {\n"
        }
        let indent = String(repeating: "    ", count: leading.rank + 1)
        out += "\(indent)kiln_gemm(\(sizes), \(pa) + (\(Self.broadcastIndex(aLeading, in: leading)))*\(aMatrix), "
            + "\(pb) + (\(Self.broadcastIndex(bLeading, in: leading)))*\(bMatrix), "
            + "\(pc) + (\(Self.broadcastIndex(leading, in: leading)))*\(cMatrix));\n"
        for axis in stride(from: leading.rank, to: 0, by: -1) {
            out += String(repeating: "    ", count: axis) + "}\n"
        }
        return out
    }
}
