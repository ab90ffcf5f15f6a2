import KilnGraph

/// A product folded into images as it is made: a matrix product `dz · bᵀ` (a convolution's
/// output gradient times its filters, `b` of shape `[kh·kw·c, cols]`) whose only reader,
/// through reshapes, is a `fold_patches` joins that fold's kernel, which computes it tile by
/// tile and adds each tile into the images while it is in registers
/// (`kiln_gemm_fold_windows`): a convolution's input gradient. Apart, the product was written
/// whole (kh·kw times the images it folds into, 14.7 MB for the Keras convnet's second
/// convolution at batch 128) and read back by the fold. The product's memory stays the
/// kernel's scratch, where the runtime keeps `bᵀ`, and the whole product when there are fewer
/// windows than filters. Runs after the fusion passes, before memory planning.
public enum FuseProductIntoFold {
    /// The pass.
    public static func run(_ function: Function) -> Function {
        let consumers = function.consumers, results = function.results
        var result = function
        for (index, node) in function.nodes.enumerated() {
            if let product = foldedProduct(NodeID(index), node, consumers: consumers, results: results, in: function) {
                result.foldedProducts.insert(product)
            }
        }
        return result
    }

    /// The product fold `id` may compute itself, if it is one: a `dz · bᵀ` of float32 with a
    /// matrix `b` as deep as the fold's windows, in no fusion group, read by the fold alone,
    /// whose rows are the fold's windows in order.
    private static func foldedProduct(_ id: NodeID, _ node: NodeDef, consumers: [[NodeID]], results: Set<NodeID>,
                                      in function: Function) -> NodeID? {
        let nodes = function.nodes
        guard case .foldPatches = node.op, node.type.dtype == .float32, function.group(of: id) == nil else { return nil }
        let product = function.aliasRoot(node.inputs[0]), matmul = nodes[product.index]
        guard case .matmul(false, true) = matmul.op, matmul.type.dtype == .float32, function.group(of: product) == nil,
              FuseWindowsIntoMatmul.onlyReader(of: product, consumers: consumers, results: results, in: function) == id
        else { return nil }
        let windows = nodes[node.inputs[0].index].type.shape
        let a = nodes[matmul.inputs[0].index].type.shape, b = nodes[matmul.inputs[1].index].type.shape
        // The product's last axis is the windows' (its rows are theirs, in order); b is one
        // matrix shared by every row, whose depth the narrow tiles take.
        guard b.rank == 2, let length = b[0].staticSize, let cols = b[1].staticSize, cols <= FuseWindowsIntoMatmul.deepest,
              windows[windows.rank - 1] == .size(length), matmul.type.shape[matmul.type.shape.rank - 1] == .size(length),
              a[a.rank - 1] == .size(cols), a.rank == 2 || Shape(Array(a.dims.dropLast())) == Shape(Array(matmul.type.shape.dims.dropLast()))
        else { return nil }
        return product
    }
}
