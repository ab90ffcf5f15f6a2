import KilnGraph

/// A convolution's bias and ReLU followed by a max pooling whose windows are its strides
/// (``FusePoolingIntoProduct``), when nothing but the pooling reads the activations (a forward
/// pass, not a training step, whose gradients read them): one call of
/// `kiln_gemm_window_pool`, which pools each pixel's window rows as their products are made
/// and never writes the convolution's map. The maximum is taken before the bias and ReLU,
/// both non-decreasing, so each pixel has the bits of the product, bias, ReLU and pooling done
/// one after the other.
extension CRenderer {
    /// The call, or `nil` when the kernel is not exactly that.
    func renderWindowPool(_ kernel: KernelSpec, _ plan: LoopPlan) -> KernelCode? {
        guard plan.matmuls.count == 1, plan.pools.count == 1 else { return nil }
        let function = schedule.function
        let product = plan.matmuls[0], pool = plan.pools[0], node = nodes[product.index]
        guard case .matmul(false, false) = node.op, node.type.dtype == .float32,
              let windows = function.imageWindows(readBy: product),
              case .patches(let window, let padValue) = nodes[windows.index].op,
              let cols = node.type.shape.dims.last?.staticSize, cols <= FuseWindowsIntoMatmul.widest,
              let members = biasReluMembers(plan, product: product, length: cols), members.mask == nil
        else { return nil }
        // A max pooling over [n, rows, ph, columns, pw, cols] of the whole map, the only
        // reader of the activations, which are the sum's only reader.
        let pooled = nodes[pool.index], reshaped = nodes[pooled.inputs[0].index].type.shape
        let map = nodes[windows.index].type.shape
        let consumers = function.consumers, results = function.results
        func onlyReader(of id: NodeID) -> NodeID? {
            FuseWindowsIntoMatmul.onlyReader(of: id, consumers: consumers, results: results, in: function)
        }
        guard case .reduce(.max, let axes, _) = pooled.op, axes == [2, 4], function.aliasRoot(pooled.inputs[0]) == members.relu,
              reshaped.rank == 6, reshaped[5] == .size(cols), map.rank == 4,
              let ph = reshaped[2].staticSize, let pw = reshaped[4].staticSize, ph > 0, pw > 0,
              let rows = reshaped[1].staticSize, let columns = reshaped[3].staticSize,
              map[1].staticSize == rows * ph, map[2].staticSize == columns * pw,
              onlyReader(of: members.relu) == pool, onlyReader(of: members.sum) == members.relu
        else { return nil }
        let image = nodes[windows.index].inputs[0]
        let arguments = windowArguments(window, image: nodes[image.index].type.shape, windows: map)
        let b = schedule.pointer(function.aliasRoot(node.inputs[1]))
        let call = "    kiln_gemm_window_pool(\(arguments), \(CSyntax.floatLiteral(padValue)), "
            + "\(schedule.pointer(function.memoryRoot(image))), \(cols), \(b), \(schedule.pointer(members.bias)), "
            + "\(ph), \(pw), \(schedule.pointer(pool)));\n"
        // The map's places the kernel is given and never writes.
        let used = Set(call.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }).map(String.init))
        let unused = (kernel.outputs + kernel.scratch).map { schedule.pointer($0) }.filter { !used.contains($0) }
        return KernelCode(body: unused.map { "    (void)\($0);\n" }.joined() + call)
    }
}
