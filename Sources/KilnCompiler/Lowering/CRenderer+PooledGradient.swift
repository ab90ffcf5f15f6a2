import KilnGraph

extension CRenderer {
    /// The kernel that makes a max pooling's gradient (through a ReLU's mask) pixel by pixel
    /// and sums it into its convolution's filter and bias gradients
    /// (``FusePoolingGradientIntoFilterGradient``), as one `kiln_pooled_filter_gradient` call:
    /// the windows are read from the image, the map, the pooled maxima, their gradient and the
    /// mask where their kernels wrote them; the product's memory holds the second half of the
    /// images' sums.
    ///
    /// - Throws: ``KilnError`` if the product no longer reads windows (a fusion bug).
    func renderPooledFilterGradient(_ id: NodeID, _ pooled: PooledGradient) throws -> String {
        let function = schedule.function, node = nodes[id.index], shape = node.type.shape
        guard let windows = function.imageWindows(readBy: pooled.product), case .patches(let window, let padValue) = nodes[windows.index].op
        else { throw unhandled(pooled.product, "reads no windows in place for the pooled gradient it sums") }
        let image = nodes[windows.index].inputs[0]
        let operands = node.inputs.map { schedule.pointer(function.aliasRoot($0)) }
        let keep = operands.count > 3 ? "(const uint8_t *)" + operands[3] : "(const uint8_t *)0"
        return "    kiln_pooled_filter_gradient(\(windowArguments(window, image: nodes[image.index].type.shape, windows: nodes[windows.index].type.shape)), "
            + "\(CSyntax.floatLiteral(padValue)), \(schedule.pointer(function.memoryRoot(image))), \(CSyntax.dim(shape[5])), "
            + "\(operands[0]), \(operands[1]), \(operands[2]), \(keep), \(CSyntax.dim(shape[2])), \(CSyntax.dim(shape[4])), "
            + "\(schedule.pointer(pooled.sum)), \(schedule.pointer(pooled.bias)), \(schedule.pointer(pooled.product)));\n"
    }
}
